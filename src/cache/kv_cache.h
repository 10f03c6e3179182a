#pragma once
// mlx-lm's KVCache: buffers grow in steps of 256 tokens; trim only moves the offset.
#include "cache/cache.h"

namespace mlxlm {

class KVCache : public AttentionCache {
 public:
  static constexpr int64_t kStep = 256;

  std::string class_name() const override { return "KVCache"; }
  bool splits_passes_exactly() const override { return true; }
  void reserve(int64_t tokens) override { reserved_ = tokens; }
  int64_t offset() const override { return offset_; }
  bool is_trimmable() const override { return true; }
  int64_t trim(int64_t n) override;
  int64_t size() const override { return offset_; }
  bool empty() const override { return keys_.ndim() == 0; }
  size_t nbytes() const override;

  StateTree state() const override;
  void set_state(StateTree state) override;
  std::unique_ptr<Cache> copy() const override;
  std::unique_ptr<Cache> to_quantized(int group_size, int bits) const override;

  KVBlock update_and_fetch(const Tensor& keys, const Tensor& values) override;

  // Allocated capacity in tokens (a multiple of kStep once anything was written).
  int64_t capacity() const { return empty() ? 0 : keys_.dim(2); }
  // The whole buffers [B, H, capacity, D] (valid up to offset()).
  const Tensor& keys() const { return keys_; }
  const Tensor& values() const { return values_; }
  // Adopts buffers holding exactly `offset` valid tokens at their start.
  void assign(Tensor keys, Tensor values, int64_t offset);

 private:
  Tensor keys_;    // [B, H, capacity, k_dim]
  Tensor values_;  // [B, H, capacity, v_dim]
  int64_t offset_ = 0;
  int64_t reserved_ = 0;  // tokens the next update sizes its buffers for (reserve)
};

// Reads and validates a [keys, values] state of two float [B, H, T, D] arrays (as f32).
std::pair<Tensor, Tensor> take_kv_state(StateTree& state, const std::string& what);

}  // namespace mlxlm
