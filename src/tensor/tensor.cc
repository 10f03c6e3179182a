#include "tensor/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include <sys/mman.h>

#include "base/error.h"

namespace mlxlm {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

namespace {

void check_dims(const Shape& shape) {
  for (int64_t d : shape) {
    if (d < 0) throw Error("tensor", "negative dimension in shape " + shape_str(shape));
  }
}

}  // namespace

void Tensor::Free::operator()(void* p) const {
  if (mapped_bytes > 0) {
    munmap(p, mapped_bytes);
  } else {
    std::free(p);
  }
}

Tensor::Tensor(DType dtype, Shape shape) : Tensor(empty(dtype, std::move(shape))) {
  if (data_ != nullptr) std::memset(data_.get(), 0, (nbytes() + 63) / 64 * 64);
}

Tensor Tensor::empty(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  check_dims(t.shape_);
  size_t bytes = t.nbytes();
  if (bytes == 0) return t;
  size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) throw std::bad_alloc();
  t.data_.reset(p);
  return t;
}

Tensor Tensor::zeros_own_pages(DType dtype, Shape shape) {
  constexpr size_t kOwnPagesFrom = size_t{256} << 10;
  check_dims(shape);
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  if (bytes < kOwnPagesFrom) return Tensor(dtype, std::move(shape));
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = std::unique_ptr<void, Free>(p, Free{bytes});
  return t;
}

void Tensor::grow_own_pages(Shape shape) {
  check_dims(shape);
  MLXLM_CHECK(owns_pages(), "tensor", "grow_own_pages of a tensor without pages of its own");
  const size_t old_bytes = data_.get_deleter().mapped_bytes;
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype_);
  MLXLM_CHECK(bytes >= old_bytes, "tensor", "grow_own_pages to ", shape_str(shape), " from ",
              shape_str(shape_));
  void* p = mremap(data_.get(), old_bytes, bytes, MREMAP_MAYMOVE);
  if (p == MAP_FAILED) throw std::bad_alloc();
  (void)data_.release();
  data_ = std::unique_ptr<void, Free>(p, Free{bytes});
  shape_ = std::move(shape);
}

Tensor Tensor::copy_of(const TensorView& view) {
  Tensor t = empty(view.dtype(), view.shape());
  if (t.nbytes() > 0) std::memcpy(t.data(), view.data(), t.nbytes());
  return t;
}

Tensor Tensor::from_floats(const std::vector<float>& values, Shape shape) {
  Tensor t(DType::F32, std::move(shape));
  MLXLM_CHECK(static_cast<int64_t>(values.size()) == t.numel(), "tensor", "value count");
  if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

void Tensor::reshape(Shape shape) {
  if (shape_numel(shape) != numel()) {
    throw Error("tensor", "cannot reshape " + shape_str(shape_) + " to " + shape_str(shape));
  }
  shape_ = std::move(shape);
}

// `src` may be a mapped tensor at any byte offset (mlx pads nothing), so elements are read
// with memcpy rather than through typed pointers.
void convert_to_f32(const void* src, DType dtype, int64_t n, float* dst) {
  const auto* bytes = static_cast<const uint8_t*>(src);
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case DType::F16:
    case DType::BF16: {
      const bool bf16 = dtype == DType::BF16;
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, bytes + i * 2, 2);
        dst[i] = bf16 ? bf16_to_f32(h) : f16_to_f32(h);
      }
      return;
    }
    case DType::F64: {
      for (int64_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, bytes + i * 8, 8);
        dst[i] = static_cast<float>(d);
      }
      return;
    }
    default:
      throw Error("tensor", "cannot convert " + std::string(dtype_name(dtype)) + " to F32");
  }
}

void convert_from_f32(const float* src, int64_t n, DType dtype, void* dst) {
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case DType::F16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
      return;
    }
    case DType::BF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
      return;
    }
    default:
      throw Error("tensor", "cannot convert F32 to " + std::string(dtype_name(dtype)));
  }
}

Tensor to_f32(const TensorView& view) {
  Tensor t(DType::F32, view.shape());
  convert_to_f32(view.data(), view.dtype(), view.numel(), t.data<float>());
  return t;
}

}  // namespace mlxlm
