#pragma once
// mlx-lm's BatchRotatingKVCache (spec 3.3): the batch form of RotatingKVCache(max_size, keep=0).
// Rows are right-aligned as in BatchKVCache; `_offset` counts the shared time axis, `rotated`
// says the buffer has wrapped, and `_lengths` (set by prepare() for right-padded prompts) keeps
// padding from evicting real tokens until finalize().
#include <optional>

#include "cache/cache.h"

namespace mlxlm {

class BatchRotatingKVCache : public AttentionCache {
 public:
  static constexpr int64_t kStep = 256;

  BatchRotatingKVCache(int64_t max_size, std::vector<int64_t> left_padding);

  std::string class_name() const override { return "BatchRotatingKVCache"; }
  int64_t offset() const override { return offset_scalar_; }
  bool is_trimmable() const override { return offset_scalar_ < max_size_; }
  int64_t trim(int64_t n) override;
  int64_t size() const override { return std::min(offset_scalar_, max_size_); }
  bool empty() const override { return keys_.ndim() == 0; }
  size_t nbytes() const override { return empty() ? 0 : keys_.nbytes() + values_.nbytes(); }

  StateTree state() const override;
  void set_state(StateTree state) override;
  // (max_size, _offset, _idx, rotated) with rotated as "True"/"False". mlx-lm reads the flag
  // back with bool(str), which is always True; here "False" reads as false.
  MetaTree meta_state() const override;
  void set_meta_state(const MetaTree& meta) override;
  void validate() const override;
  std::unique_ptr<Cache> copy() const override;

  KVBlock update_and_fetch(const Tensor& keys, const Tensor& values) override;
  AttentionMask make_mask(int64_t n, int64_t window = 0, bool return_array = false) const override;
  std::vector<int64_t> row_offsets(int64_t batch) const override;

  void filter(const std::vector<int64_t>& indices) override;
  void extend(Cache& other) override;
  std::unique_ptr<Cache> extract(int64_t idx) const override;
  void prepare(const BatchPrepare& args) override;
  void finalize() override;
  // Merges RotatingKVCaches of one max_size, each in temporal order, left-padded.
  static std::unique_ptr<BatchRotatingKVCache> merge(const std::vector<const Cache*>& caches);

  const std::vector<int64_t>& offsets() const { return offset_; }
  const std::vector<int64_t>& left_padding() const { return left_padding_; }
  const Tensor& keys() const { return keys_; }
  int64_t max_size() const { return max_size_; }
  int64_t idx() const { return idx_; }
  bool rotated() const { return rotated_; }

 private:
  void temporal_order();
  KVBlock update_concat(const Tensor& keys, const Tensor& values);
  KVBlock update_in_place(const Tensor& keys, const Tensor& values);

  Tensor keys_, values_;
  std::vector<int64_t> left_padding_;
  std::vector<int64_t> offset_;
  int64_t max_size_;
  int64_t idx_ = 0;
  int64_t offset_scalar_ = 0;  // mlx-lm's _offset
  bool rotated_ = false;
  std::optional<std::vector<int64_t>> lengths_;
};

}  // namespace mlxlm
