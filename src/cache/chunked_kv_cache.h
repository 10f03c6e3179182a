#pragma once
// mlx-lm's ChunkedKVCache(chunk_size) for chunked local attention (llama4): holds the tokens
// since `start_position`; maybe_trim_front() drops all but the last chunk_size of them. Unlike
// mlx-lm, state and meta state round-trip exactly when start_position > 0 (mlx-lm slices the
// buffer to `offset` and recomputes offset from it, which is only right while start_position is 0).
#include "cache/cache.h"

namespace mlxlm {

class ChunkedKVCache : public AttentionCache {
 public:
  static constexpr int64_t kStep = 256;

  explicit ChunkedKVCache(int64_t chunk_size) : chunk_size_(chunk_size) {}

  std::string class_name() const override { return "ChunkedKVCache"; }
  int64_t offset() const override { return offset_; }
  bool is_trimmable() const override { return true; }
  int64_t trim(int64_t n) override;
  int64_t size() const override { return offset_ - start_position_; }
  bool empty() const override { return keys_.ndim() == 0; }
  size_t nbytes() const override { return empty() ? 0 : keys_.nbytes() + values_.nbytes(); }

  StateTree state() const override;
  void set_state(StateTree state) override;
  MetaTree meta_state() const override;
  void set_meta_state(const MetaTree& meta) override;
  void validate() const override;
  std::unique_ptr<Cache> copy() const override;

  KVBlock update_and_fetch(const Tensor& keys, const Tensor& values) override;
  AttentionMask make_mask(int64_t n, int64_t window = 0, bool return_array = false) const override {
    return create_attention_mask(n, offset_ - start_position_, return_array, window);
  }

  // Keeps at most chunk_size tokens (the model calls this before each chunked-attention update).
  void maybe_trim_front();
  int64_t chunk_size() const { return chunk_size_; }
  int64_t start_position() const { return start_position_; }

 private:
  Tensor keys_, values_;  // [B, H, capacity, D]; tokens start_position_.. at index 0..
  int64_t offset_ = 0;
  int64_t chunk_size_;
  int64_t start_position_ = 0;
  int64_t held_ = 0;  // tokens in the buffer per the last set_state (validated against meta)
};

}  // namespace mlxlm
