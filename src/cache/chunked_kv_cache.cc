#include "cache/chunked_kv_cache.h"

#include "base/error.h"
#include "cache/kv_cache.h"
#include "cache/token_ops.h"

namespace mlxlm {

void ChunkedKVCache::maybe_trim_front() {
  if (!empty() && keys_.dim(2) >= chunk_size_) {
    const int64_t len = keys_.dim(2);
    start_position_ += len - chunk_size_;
    keys_ = slice_tokens(keys_, len - chunk_size_, len);
    values_ = slice_tokens(values_, len - chunk_size_, len);
  }
}

KVBlock ChunkedKVCache::update_and_fetch(const Tensor& keys, const Tensor& values) {
  MLXLM_CHECK(keys.ndim() == 4 && values.ndim() == 4, "cache", "keys/values must be [B,H,S,D]");
  const int64_t prev = offset_ - start_position_, s = keys.dim(2);
  grow_token_buffers(keys_, values_, keys, values, prev, s, kStep);
  offset_ += s;
  const int64_t end = offset_ - start_position_;
  write_tokens(keys_, keys, prev);
  write_tokens(values_, values, prev);
  return float_block(keys_, values_, end);
}

int64_t ChunkedKVCache::trim(int64_t n) {
  n = std::min(offset_ - start_position_, n);
  offset_ -= n;
  return n;
}

StateTree ChunkedKVCache::state() const {
  if (empty()) throw InvalidInput("cache", "ChunkedKVCache is empty: there is no state to save");
  const int64_t held = offset_ - start_position_;
  StateTree s;
  s.add(slice_tokens(keys_, 0, held)).add(slice_tokens(values_, 0, held));
  return s;
}

void ChunkedKVCache::set_state(StateTree state) {
  auto [k, v] = take_kv_state(state, "ChunkedKVCache");
  held_ = k.dim(2);
  offset_ = start_position_ + held_;
  keys_ = std::move(k);
  values_ = std::move(v);
}

MetaTree ChunkedKVCache::meta_state() const {
  return MetaTree::ints({chunk_size_, start_position_});
}

void ChunkedKVCache::set_meta_state(const MetaTree& meta) {
  auto v = parse_meta_ints(meta, 2, "ChunkedKVCache");
  chunk_size_ = v[0];
  start_position_ = v[1];
  offset_ = start_position_ + held_;
}

void ChunkedKVCache::validate() const {
  if (chunk_size_ <= 0 || start_position_ < 0) {
    throw InvalidInput("cache", "ChunkedKVCache meta state has chunk_size " +
                                    std::to_string(chunk_size_) + " and start_position " +
                                    std::to_string(start_position_));
  }
}

std::unique_ptr<Cache> ChunkedKVCache::copy() const {
  auto c = std::make_unique<ChunkedKVCache>(chunk_size_);
  if (!empty()) {
    c->keys_ = keys_.clone();
    c->values_ = values_.clone();
  }
  c->offset_ = offset_;
  c->start_position_ = start_position_;
  c->held_ = held_;
  return c;
}

}  // namespace mlxlm
