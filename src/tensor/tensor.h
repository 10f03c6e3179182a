#pragma once
// Tensor owns a 64-byte aligned row-major buffer and is move-only; TensorView borrows one
// (for example a weight inside a memory-mapped safetensors file) and never outlives its owner.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tensor/dtype.h"

namespace mlxlm {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);

class TensorView {
 public:
  TensorView() = default;
  TensorView(const void* data, DType dtype, Shape shape)
      : data_(data), dtype_(dtype), shape_(std::move(shape)) {}

  const void* data() const { return data_; }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(data_);
  }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i < 0 ? shape_.size() + i : i]; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool valid() const { return data_ != nullptr || numel() == 0; }

 private:
  const void* data_ = nullptr;
  DType dtype_ = DType::F32;
  Shape shape_;
};

class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-initialised storage.
  Tensor(DType dtype, Shape shape);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  // Allocates storage left uninitialised, for an output every element of which is written
  // before it is read (a batch-8 step's 4 MB of logits: zeroing them took 0.6 % of the step).
  static Tensor empty(DType dtype, Shape shape);
  // Zero-initialised storage in pages of its own (from 256 KiB; smaller ones as the constructor
  // does), for a large buffer that lives long and is replaced by a larger one as it grows: a KV
  // cache's. Its pages go back to the system when it is freed, where the heap would keep the old
  // buffer as a hole the larger new one does not fit (a 4096-token prompt's 1B cache growing by
  // one step left about 100 MB of them). Fresh pages come zeroed: no fill.
  static Tensor zeros_own_pages(DType dtype, Shape shape);
  // Whether the storage is pages of its own (zeros_own_pages).
  bool owns_pages() const { return data_ != nullptr && data_.get_deleter().mapped_bytes > 0; }
  // Gives storage with pages of its own the new `shape` (no fewer elements): the system extends
  // or moves the pages (mremap) rather than copying them, the flat bytes stay where they were
  // and the ones after them start at zero.
  void grow_own_pages(Shape shape);
  // Copies `view` into newly owned storage.
  static Tensor copy_of(const TensorView& view);
  static Tensor from_floats(const std::vector<float>& values, Shape shape);
  Tensor clone() const { return copy_of(view()); }

  void* data() { return data_.get(); }
  const void* data() const { return data_.get(); }
  template <typename T>
  T* data() {
    return static_cast<T*>(data());
  }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(data());
  }
  template <typename T>
  std::span<T> span() {
    return {data<T>(), static_cast<size_t>(numel())};
  }
  template <typename T>
  std::span<const T> span() const {
    return {data<T>(), static_cast<size_t>(numel())};
  }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i < 0 ? shape_.size() + i : i]; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  // True for a default-constructed tensor and for zero-element ones: nothing to read.
  bool empty() const { return data_ == nullptr; }

  // Same bytes, new shape with the same element count.
  void reshape(Shape shape);
  TensorView view() const { return {data(), dtype_, shape_}; }

 private:
  struct Free {
    // Nonzero: pages of its own (zeros_own_pages), else the heap's. No default member
    // initialiser (unique_ptr needs Free default-constructible while Tensor is incomplete):
    // unique_ptr value-initialises it to 0.
    size_t mapped_bytes;
    void operator()(void* p) const;
  };
  std::unique_ptr<void, Free> data_;
  DType dtype_ = DType::F32;
  Shape shape_;
};

// Converts any floating view to a new f32 tensor of the same shape.
Tensor to_f32(const TensorView& view);
// Converts `n` values of a floating dtype at `src` to f32 at `dst`.
void convert_to_f32(const void* src, DType dtype, int64_t n, float* dst);
// Converts `n` f32 values to the floating dtype `dtype` at `dst`.
void convert_from_f32(const float* src, int64_t n, DType dtype, void* dst);

}  // namespace mlxlm
