#include "cache/kv_cache.h"

#include <cstring>

#include "base/error.h"

namespace mlxlm {

Tensor slice_tokens(const Tensor& buffer, int64_t from, int64_t to) {
  const int64_t b = buffer.dim(0), h = buffer.dim(1), cap = buffer.dim(2), d = buffer.dim(3);
  Tensor out(buffer.dtype(), {b, h, to - from, d});
  const size_t es = dtype_size(buffer.dtype());
  const auto* src = static_cast<const uint8_t*>(buffer.data());
  auto* dst = static_cast<uint8_t*>(out.data());
  for (int64_t bh = 0; bh < b * h; ++bh) {
    std::memcpy(dst + bh * (to - from) * d * es, src + (bh * cap + from) * d * es,
                static_cast<size_t>((to - from) * d) * es);
  }
  return out;
}

void write_tokens(Tensor& dst, const Tensor& src, int64_t at) {
  const int64_t b = src.dim(0), h = src.dim(1), s = src.dim(2), d = src.dim(3);
  const int64_t cap = dst.dim(2);
  const size_t es = dtype_size(src.dtype());
  const auto* from = static_cast<const uint8_t*>(src.data());
  auto* to = static_cast<uint8_t*>(dst.data());
  for (int64_t bh = 0; bh < b * h; ++bh) {
    std::memcpy(to + (bh * cap + at) * d * es, from + bh * s * d * es,
                static_cast<size_t>(s * d) * es);
  }
}

void KVCache::grow(int64_t batch, int64_t heads, int64_t k_dim, int64_t v_dim, int64_t needed) {
  int64_t new_cap = (needed + kStep - 1) / kStep * kStep;
  Tensor k(DType::F32, {batch, heads, new_cap, k_dim});
  Tensor v(DType::F32, {batch, heads, new_cap, v_dim});
  if (offset_ > 0) {
    write_tokens(k, slice_tokens(keys_, 0, offset_), 0);
    write_tokens(v, slice_tokens(values_, 0, offset_), 0);
  }
  keys_ = std::move(k);
  values_ = std::move(v);
}

KVBlock KVCache::update_and_fetch(const Tensor& keys, const Tensor& values) {
  MLXLM_CHECK(keys.ndim() == 4 && values.ndim() == 4, "cache", "keys/values must be [B,H,S,D]");
  const int64_t s = keys.dim(2);
  if (keys_.empty() || offset_ + s > capacity()) {
    grow(keys.dim(0), keys.dim(1), keys.dim(3), values.dim(3), offset_ + s);
  }
  write_tokens(keys_, keys, offset_);
  write_tokens(values_, values, offset_);
  offset_ += s;
  return block();
}

KVBlock KVCache::block() const {
  KVBlock b;
  b.keys = keys_.data<float>();
  b.values = values_.data<float>();
  b.batch = keys_.dim(0);
  b.heads = keys_.dim(1);
  b.length = offset_;
  b.k_dim = keys_.dim(3);
  b.v_dim = values_.dim(3);
  b.k_head_stride = capacity() * b.k_dim;
  b.v_head_stride = capacity() * b.v_dim;
  b.k_batch_stride = b.heads * b.k_head_stride;
  b.v_batch_stride = b.heads * b.v_head_stride;
  return b;
}

int64_t KVCache::trim(int64_t n) {
  int64_t t = std::min(offset_, n);
  offset_ -= t;
  return t;
}

size_t KVCache::nbytes() const {
  if (keys_.empty()) return 0;
  return static_cast<size_t>(offset_) * (keys_.nbytes() + values_.nbytes()) /
         static_cast<size_t>(capacity());
}

std::vector<Tensor> KVCache::state() const {
  std::vector<Tensor> out;
  if (keys_.empty()) return out;
  out.push_back(slice_tokens(keys_, 0, offset_));
  out.push_back(slice_tokens(values_, 0, offset_));
  return out;
}

void KVCache::set_state(std::vector<Tensor> state) {
  if (state.size() != 2 || state[0].ndim() != 4 || state[1].ndim() != 4) {
    throw InvalidInput("cache", "KVCache state must be two [B, H, T, D] tensors");
  }
  keys_ = std::move(state[0]);
  values_ = std::move(state[1]);
  offset_ = keys_.dim(2);
}

std::unique_ptr<Cache> KVCache::copy() const {
  auto c = std::make_unique<KVCache>();
  if (!keys_.empty()) {
    c->keys_ = keys_.clone();
    c->values_ = values_.clone();
  }
  c->offset_ = offset_;
  return c;
}

}  // namespace mlxlm
