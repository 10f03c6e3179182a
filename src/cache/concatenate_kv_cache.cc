#include "cache/concatenate_kv_cache.h"

#include "base/error.h"
#include "cache/kv_cache.h"
#include "cache/token_ops.h"

namespace mlxlm {

KVBlock ConcatenateKVCache::update_and_fetch(const Tensor& keys, const Tensor& values) {
  MLXLM_CHECK(keys.ndim() == 4 && values.ndim() == 4, "cache", "keys/values must be [B,H,S,D]");
  if (empty()) {
    keys_ = keys.clone();
    values_ = values.clone();
  } else {
    keys_ = concat_tokens({&keys_, &keys});
    values_ = concat_tokens({&values_, &values});
  }
  offset_ = keys_.dim(2);
  return float_block(keys_, values_, offset_);
}

int64_t ConcatenateKVCache::trim(int64_t n) {
  n = std::min(offset_, n);
  offset_ -= n;
  if (!empty() && n > 0) {
    keys_ = slice_tokens(keys_, 0, offset_);
    values_ = slice_tokens(values_, 0, offset_);
  }
  return n;
}

StateTree ConcatenateKVCache::state() const {
  if (empty())
    throw InvalidInput("cache", "ConcatenateKVCache is empty: there is no state to save");
  StateTree s;
  s.add(keys_.clone()).add(values_.clone());
  return s;
}

void ConcatenateKVCache::set_state(StateTree state) {
  auto [k, v] = take_kv_state(state, "ConcatenateKVCache");
  offset_ = k.dim(2);
  keys_ = std::move(k);
  values_ = std::move(v);
}

std::unique_ptr<Cache> ConcatenateKVCache::copy() const {
  auto c = std::make_unique<ConcatenateKVCache>();
  if (!empty()) {
    c->keys_ = keys_.clone();
    c->values_ = values_.clone();
  }
  c->offset_ = offset_;
  return c;
}

}  // namespace mlxlm
