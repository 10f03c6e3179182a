#pragma once
// mlx-lm's ConcatenateKVCache: every update concatenates (no preallocation). Unlike mlx-lm,
// trim() really drops the trimmed tokens (mlx-lm only lowers `offset` and keeps serving them).
#include "cache/cache.h"

namespace mlxlm {

class ConcatenateKVCache : public AttentionCache {
 public:
  std::string class_name() const override { return "ConcatenateKVCache"; }
  bool splits_passes_exactly() const override { return true; }
  int64_t offset() const override { return offset_; }
  bool is_trimmable() const override { return true; }
  int64_t trim(int64_t n) override;
  int64_t size() const override { return offset_; }
  bool empty() const override { return keys_.ndim() == 0; }
  size_t nbytes() const override { return empty() ? 0 : keys_.nbytes() + values_.nbytes(); }

  StateTree state() const override;
  void set_state(StateTree state) override;
  std::unique_ptr<Cache> copy() const override;

  KVBlock update_and_fetch(const Tensor& keys, const Tensor& values) override;

 private:
  Tensor keys_, values_;  // exactly offset_ tokens
  int64_t offset_ = 0;
};

}  // namespace mlxlm
