#include "cache/kv_cache.h"

#include <algorithm>

#include "base/error.h"
#include "cache/kv_quantize.h"
#include "cache/quantized_kv_cache.h"
#include "cache/token_ops.h"

namespace mlxlm {

std::pair<Tensor, Tensor> take_kv_state(StateTree& state, const std::string& what) {
  expect_list(state, 2, what);
  // Half-precision keys stay half precision: the cache holds what a bf16/f16 model makes.
  Tensor k = take_float(state.items[0], 4, what + " keys", true);
  Tensor v = take_float(state.items[1], 4, what + " values", true);
  if (k.dtype() != v.dtype()) {
    k = to_f32(k.view());
    v = to_f32(v.view());
  }
  if (k.dim(0) != v.dim(0) || k.dim(1) != v.dim(1) || k.dim(2) != v.dim(2)) {
    throw InvalidInput("cache", what + " keys " + shape_str(k.shape()) + " and values " +
                                    shape_str(v.shape()) +
                                    " disagree on batch, heads or token count");
  }
  return {std::move(k), std::move(v)};
}

KVBlock KVCache::update_and_fetch(const Tensor& keys, const Tensor& values) {
  MLXLM_CHECK(keys.ndim() == 4 && values.ndim() == 4, "cache", "keys/values must be [B,H,S,D]");
  const int64_t prev = offset_, s = keys.dim(2);
  grow_token_buffers(keys_, values_, keys, values, prev, std::max(s, reserved_), kStep);
  reserved_ = 0;
  write_tokens(keys_, keys, prev);
  write_tokens(values_, values, prev);
  offset_ += s;
  return float_block(keys_, values_, offset_);
}

int64_t KVCache::trim(int64_t n) {
  int64_t t = std::min(offset_, n);
  offset_ -= t;
  return t;
}

size_t KVCache::nbytes() const { return empty() ? 0 : keys_.nbytes() + values_.nbytes(); }

StateTree KVCache::state() const {
  if (empty()) throw InvalidInput("cache", "KVCache is empty: there is no state to save");
  StateTree s;
  s.add(slice_tokens(keys_, 0, offset_)).add(slice_tokens(values_, 0, offset_));
  return s;
}

void KVCache::set_state(StateTree state) {
  auto [k, v] = take_kv_state(state, "KVCache");
  offset_ = k.dim(2);
  keys_ = std::move(k);
  values_ = std::move(v);
}

void KVCache::assign(Tensor keys, Tensor values, int64_t offset) {
  keys_ = std::move(keys);
  values_ = std::move(values);
  offset_ = offset;
}

std::unique_ptr<Cache> KVCache::copy() const {
  auto c = std::make_unique<KVCache>();
  if (!empty()) c->assign(keys_.clone(), values_.clone(), offset_);
  return c;
}

std::unique_ptr<Cache> KVCache::to_quantized(int group_size, int bits) const {
  auto q = std::make_unique<QuantizedKVCache>(group_size, bits);
  if (!empty()) {
    // mlx quantizes the whole buffer; only the first offset tokens are ever read.
    q->assign(quantize_tokens(keys_, group_size, bits), quantize_tokens(values_, group_size, bits),
              offset_);
  }
  return q;
}

}  // namespace mlxlm
