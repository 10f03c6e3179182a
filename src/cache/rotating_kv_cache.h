#pragma once
// mlx-lm's RotatingKVCache(max_size, keep): a fixed-size window of the most recent tokens plus
// `keep` first tokens that are never evicted (spec 3.2).
#include "cache/cache.h"
#include "cache/rotating_buffer.h"

namespace mlxlm {

class RotatingKVCache : public AttentionCache {
 public:
  explicit RotatingKVCache(int64_t max_size, int64_t keep = 0) : buf_(max_size, keep) {}

  std::string class_name() const override { return "RotatingKVCache"; }
  int64_t offset() const override { return buf_.offset(); }
  bool is_trimmable() const override { return buf_.offset() < buf_.max_size(); }
  int64_t trim(int64_t n) override { return buf_.trim(n); }
  int64_t size() const override { return std::min(buf_.offset(), buf_.max_size()); }
  bool empty() const override { return buf_.empty(); }
  size_t nbytes() const override;

  StateTree state() const override;
  void set_state(StateTree state) override;
  MetaTree meta_state() const override;
  void set_meta_state(const MetaTree& meta) override;
  void validate() const override { buf_.validate("RotatingKVCache"); }
  std::unique_ptr<Cache> copy() const override;
  // mlx-lm refuses this; here it gives a QuantizedRotatingKVCache.
  std::unique_ptr<Cache> to_quantized(int group_size, int bits) const override;

  KVBlock update_and_fetch(const Tensor& keys, const Tensor& values) override;
  AttentionMask make_mask(int64_t n, int64_t window = 0, bool return_array = false) const override {
    return buf_.make_mask(n, window, return_array);
  }

  int64_t keep() const { return buf_.keep(); }
  int64_t max_size() const { return buf_.max_size(); }
  int64_t idx() const { return buf_.idx(); }
  const RotatingBuffer<Tensor>& buffer() const { return buf_; }
  RotatingBuffer<Tensor>& buffer() { return buf_; }

 private:
  RotatingBuffer<Tensor> buf_;
};

// The meta state shared by the rotating caches: (keep, max_size, offset, _idx).
MetaTree rotating_meta(int64_t keep, int64_t max_size, int64_t offset, int64_t idx);

}  // namespace mlxlm
