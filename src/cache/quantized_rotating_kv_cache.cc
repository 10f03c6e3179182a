#include "cache/quantized_rotating_kv_cache.h"

#include "cache/rotating_kv_cache.h"

namespace mlxlm {

QuantizedRotatingKVCache::QuantizedRotatingKVCache(int64_t max_size, int64_t keep, int group_size,
                                                   int bits)
    : buf_(max_size, keep), group_size_(group_size), bits_(bits) {}

QuantizedRotatingKVCache::QuantizedRotatingKVCache(const RotatingKVCache& source, int group_size,
                                                   int bits)
    : QuantizedRotatingKVCache(source.max_size(), source.keep(), group_size, bits) {
  if (!source.empty()) {
    buf_.set_state(quantize_tokens(source.buffer().keys(), group_size, bits),
                   quantize_tokens(source.buffer().values(), group_size, bits));
  }
  buf_.set_meta(source.keep(), source.max_size(), source.offset(), source.idx());
}

KVBlock QuantizedRotatingKVCache::update_and_fetch(const Tensor& keys, const Tensor& values) {
  MLXLM_CHECK(keys.ndim() == 4 && values.ndim() == 4, "cache", "keys/values must be [B,H,S,D]");
  const int64_t visible = buf_.update(quantize_tokens(keys, group_size_, bits_),
                                      quantize_tokens(values, group_size_, bits_));
  return quantized_block(buf_.keys(), buf_.values(), visible, group_size_, bits_);
}

size_t QuantizedRotatingKVCache::nbytes() const {
  return empty() ? 0 : mlxlm::nbytes(buf_.keys()) + mlxlm::nbytes(buf_.values());
}

StateTree QuantizedRotatingKVCache::state() const {
  if (empty()) {
    throw InvalidInput("cache", "QuantizedRotatingKVCache is empty: there is no state to save");
  }
  auto [k, v] = buf_.state();
  StateTree s;
  s.add(quantized_state(k)).add(quantized_state(v));
  return s;
}

void QuantizedRotatingKVCache::set_state(StateTree state) {
  expect_list(state, 2, "QuantizedRotatingKVCache");
  QuantizedTokens k = take_quantized(state.items[0], "QuantizedRotatingKVCache keys");
  QuantizedTokens v = take_quantized(state.items[1], "QuantizedRotatingKVCache values");
  buf_.set_state(std::move(k), std::move(v));
}

MetaTree QuantizedRotatingKVCache::meta_state() const {
  return MetaTree::ints(
      {buf_.keep(), buf_.max_size(), buf_.offset(), buf_.idx(), group_size_, bits_});
}

void QuantizedRotatingKVCache::set_meta_state(const MetaTree& meta) {
  auto v = parse_meta_ints(meta, 6, "QuantizedRotatingKVCache");
  buf_.set_meta(v[0], v[1], v[2], v[3]);
  group_size_ = static_cast<int>(v[4]);
  bits_ = static_cast<int>(v[5]);
}

void QuantizedRotatingKVCache::validate() const {
  if (empty()) throw InvalidInput("cache", "QuantizedRotatingKVCache has no keys");
  check_kv_quantization(buf_.keys().scales.dim(3) * group_size_, group_size_, bits_);
  check_quantized_pair(buf_.keys(), buf_.values(), group_size_, bits_, "QuantizedRotatingKVCache");
  buf_.validate("QuantizedRotatingKVCache");
}

std::unique_ptr<Cache> QuantizedRotatingKVCache::copy() const {
  auto c =
      std::make_unique<QuantizedRotatingKVCache>(buf_.max_size(), buf_.keep(), group_size_, bits_);
  c->buf_.copy_from(buf_);
  return c;
}

}  // namespace mlxlm
