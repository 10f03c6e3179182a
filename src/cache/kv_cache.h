#pragma once
// mlx-lm's KVCache: buffers grow in steps of 256 tokens; trim only moves the offset.
#include "cache/cache.h"

namespace mlxlm {

class KVCache : public AttentionCache {
 public:
  static constexpr int64_t kStep = 256;

  std::string class_name() const override { return "KVCache"; }
  int64_t offset() const override { return offset_; }
  bool is_trimmable() const override { return true; }
  int64_t trim(int64_t n) override;
  int64_t size() const override { return offset_; }
  size_t nbytes() const override;

  std::vector<Tensor> state() const override;
  void set_state(std::vector<Tensor> state) override;
  std::unique_ptr<Cache> copy() const override;

  KVBlock update_and_fetch(const Tensor& keys, const Tensor& values) override;

  // Allocated capacity in tokens (a multiple of kStep once anything was written).
  int64_t capacity() const { return keys_.empty() ? 0 : keys_.dim(2); }

 private:
  KVBlock block() const;
  void grow(int64_t batch, int64_t heads, int64_t k_dim, int64_t v_dim, int64_t needed);

  Tensor keys_;    // [B, H, capacity, k_dim]
  Tensor values_;  // [B, H, capacity, v_dim]
  int64_t offset_ = 0;
};

// Copies tokens [from, to) of a [B, H, capacity, D] buffer into a new [B, H, to - from, D] tensor.
Tensor slice_tokens(const Tensor& buffer, int64_t from, int64_t to);
// Writes src [B, H, S, D] into dst [B, H, capacity, D] at token position `at`.
void write_tokens(Tensor& dst, const Tensor& src, int64_t at);

}  // namespace mlxlm
