#pragma once
// A RotatingKVCache whose slots hold affine-quantized keys and values: --max-kv-size together
// with --kv-bits, which mlx-lm refuses (NotImplementedError). Not an mlx-lm class: files holding
// it load only in mlxlm. State = ((k codes, scales, biases), (v codes, scales, biases)); meta =
// (keep, max_size, offset, _idx, group_size, bits).
#include "cache/cache.h"
#include "cache/rotating_buffer.h"

namespace mlxlm {

class RotatingKVCache;

class QuantizedRotatingKVCache : public AttentionCache {
 public:
  QuantizedRotatingKVCache(int64_t max_size, int64_t keep, int group_size, int bits);
  // Quantizes the buffers of `source` as they are (same order, same _idx).
  QuantizedRotatingKVCache(const RotatingKVCache& source, int group_size, int bits);

  std::string class_name() const override { return "QuantizedRotatingKVCache"; }
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
  void validate() const override;
  std::unique_ptr<Cache> copy() const override;

  KVBlock update_and_fetch(const Tensor& keys, const Tensor& values) override;
  AttentionMask make_mask(int64_t n, int64_t window = 0, bool return_array = false) const override {
    return buf_.make_mask(n, window, return_array);
  }

  int group_size() const { return group_size_; }
  int bits() const { return bits_; }

 private:
  RotatingBuffer<QuantizedTokens> buf_;
  int group_size_;
  int bits_;
};

}  // namespace mlxlm
