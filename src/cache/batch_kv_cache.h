#pragma once
// mlx-lm's BatchKVCache (spec 3.3): a batch of sequences right-aligned in one buffer.
// left_padding[b] = leading pad slots of row b, offset[b] = real tokens of row b (the RoPE
// position of its next token; negative while only padding was seen), _idx = slots in use.
#include <optional>

#include "cache/cache.h"

namespace mlxlm {

class KVCache;

class BatchKVCache : public AttentionCache {
 public:
  static constexpr int64_t kStep = 256;

  explicit BatchKVCache(std::vector<int64_t> left_padding);

  std::string class_name() const override { return "BatchKVCache"; }
  bool splits_passes_exactly() const override { return true; }
  void reserve(int64_t tokens) override { reserved_ = tokens; }
  // The shared time axis (_idx); per-row positions are row_offsets().
  int64_t offset() const override { return idx_; }
  bool is_trimmable() const override { return true; }
  int64_t trim(int64_t n) override;
  int64_t size() const override { return idx_; }
  bool empty() const override { return keys_.ndim() == 0; }
  size_t nbytes() const override { return empty() ? 0 : keys_.nbytes() + values_.nbytes(); }

  // (keys, values, offset, left_padding); offsets and paddings as int32 vectors.
  StateTree state() const override;
  void set_state(StateTree state) override;
  std::unique_ptr<Cache> copy() const override;

  KVBlock update_and_fetch(const Tensor& keys, const Tensor& values) override;
  AttentionMask make_mask(int64_t n, int64_t window = 0, bool return_array = false) const override;
  std::vector<int64_t> row_offsets(int64_t batch) const override;

  void filter(const std::vector<int64_t>& indices) override;
  void extend(Cache& other) override;
  std::unique_ptr<Cache> extract(int64_t idx) const override;
  void prepare(const BatchPrepare& args) override;
  void finalize() override;
  // Left-pads single-sequence caches (KVCache and friends) to the longest.
  static std::unique_ptr<BatchKVCache> merge(const std::vector<const Cache*>& caches);

  const std::vector<int64_t>& offsets() const { return offset_; }
  const std::vector<int64_t>& left_padding() const { return left_padding_; }
  const Tensor& keys() const { return keys_; }
  const Tensor& values() const { return values_; }

 private:
  Tensor keys_, values_;
  std::vector<int64_t> left_padding_;
  std::vector<int64_t> offset_;
  int64_t idx_ = 0;
  int64_t reserved_ = 0;  // tokens the next update sizes its buffers for (reserve)
  std::optional<std::vector<int64_t>> right_padding_;
};

}  // namespace mlxlm
