#include "cache/rotating_kv_cache.h"

#include "cache/kv_cache.h"
#include "cache/quantized_rotating_kv_cache.h"

namespace mlxlm {

MetaTree rotating_meta(int64_t keep, int64_t max_size, int64_t offset, int64_t idx) {
  return MetaTree::ints({keep, max_size, offset, idx});
}

KVBlock RotatingKVCache::update_and_fetch(const Tensor& keys, const Tensor& values) {
  MLXLM_CHECK(keys.ndim() == 4 && values.ndim() == 4, "cache", "keys/values must be [B,H,S,D]");
  const int64_t visible = buf_.update(keys, values);
  return float_block(buf_.keys(), buf_.values(), visible);
}

size_t RotatingKVCache::nbytes() const {
  return empty() ? 0 : buf_.keys().nbytes() + buf_.values().nbytes();
}

StateTree RotatingKVCache::state() const {
  if (empty()) throw InvalidInput("cache", "RotatingKVCache is empty: there is no state to save");
  auto [k, v] = buf_.state();
  StateTree s;
  s.add(std::move(k)).add(std::move(v));
  return s;
}

void RotatingKVCache::set_state(StateTree state) {
  auto [k, v] = take_kv_state(state, "RotatingKVCache");
  buf_.set_state(std::move(k), std::move(v));
}

MetaTree RotatingKVCache::meta_state() const {
  return rotating_meta(buf_.keep(), buf_.max_size(), buf_.offset(), buf_.idx());
}

void RotatingKVCache::set_meta_state(const MetaTree& meta) {
  auto v = parse_meta_ints(meta, 4, "RotatingKVCache");
  buf_.set_meta(v[0], v[1], v[2], v[3]);
}

std::unique_ptr<Cache> RotatingKVCache::copy() const {
  auto c = std::make_unique<RotatingKVCache>(buf_.max_size(), buf_.keep());
  c->buf_.copy_from(buf_);
  return c;
}

std::unique_ptr<Cache> RotatingKVCache::to_quantized(int group_size, int bits) const {
  return std::make_unique<QuantizedRotatingKVCache>(*this, group_size, bits);
}

}  // namespace mlxlm
