#include "cache/quantized_kv_cache.h"

#include <algorithm>

#include "base/error.h"
#include "cache/token_ops.h"

namespace mlxlm {

QuantizedTokens slice_tokens(const QuantizedTokens& q, int64_t from, int64_t to) {
  return {slice_tokens(q.codes, from, to), slice_tokens(q.scales, from, to),
          slice_tokens(q.biases, from, to)};
}

QuantizedTokens concat_tokens(const std::vector<const QuantizedTokens*>& parts) {
  std::vector<const Tensor*> c, s, b;
  for (const auto* p : parts) {
    c.push_back(&p->codes);
    s.push_back(&p->scales);
    b.push_back(&p->biases);
  }
  return {concat_tokens(c), concat_tokens(s), concat_tokens(b)};
}

QuantizedTokens zeros_tokens(const QuantizedTokens& like, int64_t tokens) {
  return {zeros_tokens(like.codes, tokens), zeros_tokens(like.scales, tokens),
          zeros_tokens(like.biases, tokens)};
}

void write_tokens(QuantizedTokens& dst, const QuantizedTokens& src, int64_t at) {
  write_tokens(dst.codes, src.codes, at);
  write_tokens(dst.scales, src.scales, at);
  write_tokens(dst.biases, src.biases, at);
}

QuantizedTokens clone(const QuantizedTokens& q) {
  return {q.codes.clone(), q.scales.clone(), q.biases.clone()};
}

int64_t token_count(const QuantizedTokens& q) { return q.codes.ndim() == 0 ? 0 : q.codes.dim(2); }

size_t nbytes(const QuantizedTokens& q) {
  return q.codes.nbytes() + q.scales.nbytes() + q.biases.nbytes();
}

namespace {
QuantizedPlane plane(const QuantizedTokens& q) {
  QuantizedPlane p;
  p.codes = q.codes.data<uint32_t>();
  p.scales = q.scales.data<float>();
  p.biases = q.biases.data<float>();
  p.codes_head_stride = q.codes.dim(2) * q.codes.dim(3);
  p.groups_head_stride = q.scales.dim(2) * q.scales.dim(3);
  p.codes_batch_stride = q.codes.dim(1) * p.codes_head_stride;
  p.groups_batch_stride = q.scales.dim(1) * p.groups_head_stride;
  return p;
}
}  // namespace

KVBlock quantized_block(const QuantizedTokens& k, const QuantizedTokens& v, int64_t length,
                        int group_size, int bits) {
  KVBlock b;
  b.batch = k.codes.dim(0);
  b.heads = k.codes.dim(1);
  b.length = length;
  b.k_dim = k.codes.dim(3) * 32 / bits;
  b.v_dim = v.codes.dim(3) * 32 / bits;
  b.bits = bits;
  b.group_size = group_size;
  b.qk = plane(k);
  b.qv = plane(v);
  return b;
}

StateTree quantized_state(const QuantizedTokens& q) {
  StateTree s;
  s.add(q.codes.clone()).add(q.scales.clone()).add(q.biases.clone());
  return s;
}

QuantizedTokens take_quantized(StateTree& node, const std::string& what) {
  expect_list(node, 3, what);
  StateTree& c = node.items[0];
  if (!c.is_leaf || c.leaf.dtype() != DType::U32 || c.leaf.ndim() != 4) {
    throw InvalidInput("cache", what + " codes must be a U32 [B, H, T, D*bits/32] array, got " +
                                    (c.is_leaf ? std::string(dtype_name(c.leaf.dtype())) + " " +
                                                     shape_str(c.leaf.shape())
                                               : std::string("a list")));
  }
  QuantizedTokens q;
  q.codes = std::move(c.leaf);
  q.scales = take_float(node.items[1], 4, what + " scales");
  q.biases = take_float(node.items[2], 4, what + " biases");
  if (q.scales.shape() != q.biases.shape() || q.scales.dim(0) != q.codes.dim(0) ||
      q.scales.dim(1) != q.codes.dim(1) || q.scales.dim(2) != q.codes.dim(2)) {
    throw InvalidInput("cache", what + " codes " + shape_str(q.codes.shape()) + ", scales " +
                                    shape_str(q.scales.shape()) + " and biases " +
                                    shape_str(q.biases.shape()) + " do not fit together");
  }
  return q;
}

void check_quantized_pair(const QuantizedTokens& k, const QuantizedTokens& v, int group_size,
                          int bits, const std::string& what) {
  for (const QuantizedTokens* q : {&k, &v}) {
    if (q->codes.dim(3) * 32 % bits != 0 ||
        q->codes.dim(3) * 32 / bits != q->scales.dim(3) * group_size) {
      throw InvalidInput("cache", what + ": codes " + shape_str(q->codes.shape()) + " and scales " +
                                      shape_str(q->scales.shape()) + " do not match bits " +
                                      std::to_string(bits) + " and group size " +
                                      std::to_string(group_size));
    }
  }
  if (k.codes.dim(0) != v.codes.dim(0) || k.codes.dim(1) != v.codes.dim(1) ||
      k.codes.dim(2) != v.codes.dim(2)) {
    throw InvalidInput("cache", what + ": keys " + shape_str(k.codes.shape()) + " and values " +
                                    shape_str(v.codes.shape()) +
                                    " disagree on batch, heads or token count");
  }
}

QuantizedKVCache::QuantizedKVCache(int group_size, int bits)
    : group_size_(group_size), bits_(bits) {}

KVBlock QuantizedKVCache::update_and_fetch(const Tensor& keys, const Tensor& values) {
  check_kv_quantization(keys.dim(3), group_size_, bits_);
  check_kv_quantization(values.dim(3), group_size_, bits_);
  const int64_t prev = offset_, s = keys.dim(2);
  QuantizedTokens qk = quantize_tokens(keys, group_size_, bits_);
  QuantizedTokens qv = quantize_tokens(values, group_size_, bits_);
  const int64_t incoming = std::max(s, reserved_);
  reserved_ = 0;
  if (empty() || prev + incoming > token_count(keys_)) {
    const int64_t new_steps = (kStep + incoming - 1) / kStep * kStep;
    QuantizedTokens new_k = zeros_tokens(qk, new_steps), new_v = zeros_tokens(qv, new_steps);
    if (!empty()) {
      if (prev % kStep != 0) {
        keys_ = slice_tokens(keys_, 0, prev);
        values_ = slice_tokens(values_, 0, prev);
      }
      keys_ = concat_tokens({&keys_, &new_k});
      values_ = concat_tokens({&values_, &new_v});
    } else {
      keys_ = std::move(new_k);
      values_ = std::move(new_v);
    }
  }
  offset_ += s;
  write_tokens(keys_, qk, prev);
  write_tokens(values_, qv, prev);
  return quantized_block(keys_, values_, offset_, group_size_, bits_);
}

int64_t QuantizedKVCache::trim(int64_t n) {
  int64_t t = std::min(offset_, n);
  offset_ -= t;
  return t;
}

size_t QuantizedKVCache::nbytes() const {
  return empty() ? 0 : mlxlm::nbytes(keys_) + mlxlm::nbytes(values_);
}

StateTree QuantizedKVCache::state() const {
  if (empty()) throw InvalidInput("cache", "QuantizedKVCache is empty: there is no state to save");
  StateTree s;
  s.add(quantized_state(slice_tokens(keys_, 0, offset_)))
      .add(quantized_state(slice_tokens(values_, 0, offset_)));
  return s;
}

void QuantizedKVCache::set_state(StateTree state) {
  expect_list(state, 2, "QuantizedKVCache");
  keys_ = take_quantized(state.items[0], "QuantizedKVCache keys");
  values_ = take_quantized(state.items[1], "QuantizedKVCache values");
  offset_ = token_count(keys_);
}

MetaTree QuantizedKVCache::meta_state() const {
  return MetaTree::ints({offset_, group_size_, bits_});
}

void QuantizedKVCache::set_meta_state(const MetaTree& meta) {
  auto v = parse_meta_ints(meta, 3, "QuantizedKVCache");
  offset_ = v[0];
  group_size_ = static_cast<int>(v[1]);
  bits_ = static_cast<int>(v[2]);
}

void QuantizedKVCache::validate() const {
  if (empty()) throw InvalidInput("cache", "QuantizedKVCache has no keys");
  check_kv_quantization(keys_.scales.dim(3) * group_size_, group_size_, bits_);
  check_quantized_pair(keys_, values_, group_size_, bits_, "QuantizedKVCache");
  if (token_count(keys_) != offset_) {
    throw InvalidInput("cache", "QuantizedKVCache holds " + std::to_string(token_count(keys_)) +
                                    " tokens but its meta state says offset " +
                                    std::to_string(offset_));
  }
}

void QuantizedKVCache::assign(QuantizedTokens keys, QuantizedTokens values, int64_t offset) {
  keys_ = std::move(keys);
  values_ = std::move(values);
  offset_ = offset;
}

std::unique_ptr<Cache> QuantizedKVCache::copy() const {
  auto c = std::make_unique<QuantizedKVCache>(group_size_, bits_);
  if (!empty()) c->assign(clone(keys_), clone(values_), offset_);
  c->offset_ = offset_;
  return c;
}

}  // namespace mlxlm
