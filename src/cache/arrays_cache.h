#pragma once
// mlx-lm's ArraysCache (the MambaCache role): `size` state slots of any shape [B, ...] for
// recurrent / SSM / linear-attention layers (conv state, recurrent state), plus the left padding
// or lengths of a batch. Never trimmable.
#include <optional>

#include "cache/cache.h"

namespace mlxlm {

class ArraysCache : public Cache {
 public:
  explicit ArraysCache(int64_t size, std::vector<int64_t> left_padding = {});

  std::string class_name() const override { return "ArraysCache"; }
  int64_t offset() const override { return 0; }
  int64_t size() const override { return 0; }
  bool empty() const override { return slots_.empty() || slots_[0].ndim() == 0; }
  size_t nbytes() const override;

  // ((slot...), left_padding, lengths); an absent padding or lengths is an empty F32 [0].
  StateTree state() const override;
  // Also accepts the older layout, a plain list of slots.
  void set_state(StateTree state) override;
  std::unique_ptr<Cache> copy() const override;

  // Slot i (mlx-lm's cache[i]); a default-constructed tensor is an unset slot.
  Tensor& operator[](size_t i) { return slots_.at(i); }
  const Tensor& operator[](size_t i) const { return slots_.at(i); }
  size_t slot_count() const { return slots_.size(); }
  int64_t batch_size() const;

  const std::optional<std::vector<int64_t>>& left_padding() const { return left_padding_; }
  const std::optional<std::vector<int64_t>>& lengths() const { return lengths_; }

  // [B, n] row-major, 1 where position j of row b is real: j >= left_padding[b], or
  // j < lengths[b]; empty when neither is set (no mask needed).
  std::vector<uint8_t> make_mask(int64_t n) const;
  // After n tokens were consumed: both paddings move down by n.
  void advance(int64_t n);

  void filter(const std::vector<int64_t>& indices) override;
  void extend(Cache& other) override;
  std::unique_ptr<Cache> extract(int64_t idx) const override;
  void prepare(const BatchPrepare& args) override;
  void finalize() override;
  static std::unique_ptr<ArraysCache> merge(const std::vector<const ArraysCache*>& caches);

 private:
  std::vector<Tensor> slots_;
  std::optional<std::vector<int64_t>> left_padding_;
  std::optional<std::vector<int64_t>> lengths_;
};

}  // namespace mlxlm
