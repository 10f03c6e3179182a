#include "cache/batch_kv_cache.h"

#include <algorithm>

#include "base/error.h"
#include "cache/kv_cache.h"
#include "cache/token_ops.h"

namespace mlxlm {

BatchKVCache::BatchKVCache(std::vector<int64_t> left_padding)
    : left_padding_(std::move(left_padding)) {
  for (int64_t l : left_padding_) offset_.push_back(-l);
}

KVBlock BatchKVCache::update_and_fetch(const Tensor& keys, const Tensor& values) {
  MLXLM_CHECK(keys.ndim() == 4 && values.ndim() == 4, "cache", "keys/values must be [B,H,S,D]");
  if (keys.dim(0) != static_cast<int64_t>(offset_.size())) {
    throw InvalidInput("cache", "BatchKVCache has " + std::to_string(offset_.size()) +
                                    " rows, update has " + std::to_string(keys.dim(0)));
  }
  const int64_t prev = idx_, s = keys.dim(2);
  grow_token_buffers(keys_, values_, keys, values, prev, std::max(s, reserved_), kStep);
  reserved_ = 0;
  for (auto& o : offset_) o += s;
  idx_ += s;
  write_tokens(keys_, keys, prev);
  write_tokens(values_, values, prev);
  return float_block(keys_, values_, idx_);
}

void BatchKVCache::prepare(const BatchPrepare& args) {
  if (args.left_padding) {
    if (!empty()) {
      throw InvalidInput("cache", "Left padding can only be added to an empty BatchKVCache");
    }
    for (size_t i = 0; i < left_padding_.size(); ++i) {
      left_padding_[i] += args.left_padding->at(i);
      offset_[i] -= args.left_padding->at(i);
    }
  }
  if (args.right_padding && !args.right_padding->empty() &&
      *std::max_element(args.right_padding->begin(), args.right_padding->end()) > 0) {
    right_padding_ = *args.right_padding;
  }
}

void BatchKVCache::finalize() {
  if (!right_padding_) return;
  if (!empty()) {
    keys_ = dynamic_roll(keys_, *right_padding_);
    values_ = dynamic_roll(values_, *right_padding_);
  }
  for (size_t i = 0; i < offset_.size(); ++i) {
    offset_[i] -= (*right_padding_)[i];
    left_padding_[i] += (*right_padding_)[i];
  }
  right_padding_.reset();
}

StateTree BatchKVCache::state() const {
  if (empty()) throw InvalidInput("cache", "BatchKVCache is empty: there is no state to save");
  StateTree s;
  s.add(slice_tokens(keys_, 0, idx_)).add(slice_tokens(values_, 0, idx_));
  s.add(int_tensor(offset_)).add(int_tensor(left_padding_));
  return s;
}

void BatchKVCache::set_state(StateTree state) {
  expect_list(state, 4, "BatchKVCache");
  StateTree kv;
  kv.add(std::move(state.items[0])).add(std::move(state.items[1]));
  auto [k, v] = take_kv_state(kv, "BatchKVCache");
  auto offsets = take_ints(state.items[2], "BatchKVCache offset");
  auto padding = take_ints(state.items[3], "BatchKVCache left_padding");
  if (static_cast<int64_t>(offsets.size()) != k.dim(0) ||
      static_cast<int64_t>(padding.size()) != k.dim(0)) {
    throw InvalidInput("cache", "BatchKVCache keys have batch size " + std::to_string(k.dim(0)) +
                                    " but offset has " + std::to_string(offsets.size()) +
                                    " and left_padding " + std::to_string(padding.size()) +
                                    " entries");
  }
  for (size_t i = 0; i < padding.size(); ++i) {
    if (padding[i] < 0 || padding[i] > k.dim(2) || offsets[i] + padding[i] != k.dim(2)) {
      throw InvalidInput("cache", "BatchKVCache row " + std::to_string(i) + ": offset " +
                                      std::to_string(offsets[i]) + " plus left_padding " +
                                      std::to_string(padding[i]) + " must equal the " +
                                      std::to_string(k.dim(2)) + " stored tokens");
    }
  }
  idx_ = k.dim(2);
  keys_ = std::move(k);
  values_ = std::move(v);
  offset_ = std::move(offsets);
  left_padding_ = std::move(padding);
}

std::unique_ptr<Cache> BatchKVCache::copy() const {
  auto c = std::make_unique<BatchKVCache>(left_padding_);
  if (!empty()) {
    c->keys_ = keys_.clone();
    c->values_ = values_.clone();
  }
  c->offset_ = offset_;
  c->idx_ = idx_;
  c->right_padding_ = right_padding_;
  return c;
}

int64_t BatchKVCache::trim(int64_t n) {
  n = std::min(idx_, n);
  idx_ -= n;
  for (auto& o : offset_) o -= n;
  return n;
}

AttentionMask BatchKVCache::make_mask(int64_t n, int64_t window, bool) const {
  return create_causal_mask(n, idx_, window, &left_padding_);
}

std::vector<int64_t> BatchKVCache::row_offsets(int64_t batch) const {
  MLXLM_CHECK(batch == static_cast<int64_t>(offset_.size()), "cache", "batch size ", batch, " vs ",
              offset_.size());
  return offset_;
}

void BatchKVCache::filter(const std::vector<int64_t>& indices) {
  if (!empty()) {
    keys_ = take_rows(keys_, indices);
    values_ = take_rows(values_, indices);
  }
  std::vector<int64_t> off, lp;
  for (int64_t i : indices) {
    off.push_back(offset_.at(static_cast<size_t>(i)));
    lp.push_back(left_padding_.at(static_cast<size_t>(i)));
  }
  offset_ = std::move(off);
  left_padding_ = std::move(lp);
  // Drop the leading columns no row needs any more.
  if (left_padding_.empty()) return;
  const int64_t min_pad = *std::min_element(left_padding_.begin(), left_padding_.end());
  if (min_pad > 0) {
    if (!empty()) {
      keys_ = slice_tokens(keys_, min_pad, keys_.dim(2));
      values_ = slice_tokens(values_, min_pad, values_.dim(2));
    }
    idx_ -= min_pad;
    for (auto& l : left_padding_) l -= min_pad;
  }
}

void BatchKVCache::extend(Cache& other_cache) {
  auto* other = dynamic_cast<BatchKVCache*>(&other_cache);
  if (other == nullptr) throw InvalidInput("cache", "BatchKVCache can only be extended by another");
  auto cat = [](std::vector<int64_t> a, const std::vector<int64_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  if (empty() && other->empty()) {
    left_padding_ = cat(left_padding_, other->left_padding_);
    offset_ = cat(offset_, other->offset_);
    return;
  }
  const int64_t max_idx = std::max(idx_, other->idx_);
  const Tensor& ref_k = !empty() ? keys_ : other->keys_;
  const Tensor& ref_v = !empty() ? values_ : other->values_;
  const int64_t max_size =
      std::max(empty() ? 0 : keys_.dim(2), other->empty() ? 0 : other->keys_.dim(2));
  // Right-justify both to max_idx and bring them to a common length.
  auto pad = [&](BatchKVCache& c, Tensor& k, Tensor& v) {
    if (!c.empty()) {
      k = c.keys_.clone();
      v = c.values_.clone();
    }
    const int64_t left = max_idx - c.idx_;
    right_justify_tokens(k, v, ref_k, ref_v, static_cast<int64_t>(c.offset_.size()), left,
                         max_size);
    std::vector<int64_t> lp = c.left_padding_;
    for (auto& l : lp) l += left;
    return lp;
  };
  Tensor ka, va, kb, vb;
  std::vector<int64_t> lpa = pad(*this, ka, va);
  std::vector<int64_t> lpb = pad(*other, kb, vb);
  keys_ = concat_rows(ka, kb);
  values_ = concat_rows(va, vb);
  offset_ = cat(offset_, other->offset_);
  left_padding_ = cat(lpa, lpb);
  idx_ = max_idx;
}

std::unique_ptr<Cache> BatchKVCache::extract(int64_t idx) const {
  if (idx < 0 || idx >= static_cast<int64_t>(offset_.size())) {
    throw InvalidInput("cache",
                       "BatchKVCache extract: row " + std::to_string(idx) + " out of range");
  }
  auto c = std::make_unique<KVCache>();
  if (empty()) return c;
  const int64_t pad = left_padding_[static_cast<size_t>(idx)];
  Tensor k = slice_row_tokens(keys_, idx, pad, idx_);
  Tensor v = slice_row_tokens(values_, idx, pad, idx_);
  const int64_t len = k.dim(2);
  c->assign(std::move(k), std::move(v), len);
  return c;
}

std::unique_ptr<BatchKVCache> BatchKVCache::merge(const std::vector<const Cache*>& caches) {
  MLXLM_CHECK(!caches.empty(), "cache", "merge of no caches");
  std::vector<int64_t> lengths;
  for (const Cache* c : caches) lengths.push_back(c->size());
  const int64_t max_length = *std::max_element(lengths.begin(), lengths.end());
  if (max_length == 0)
    return std::make_unique<BatchKVCache>(std::vector<int64_t>(caches.size(), 0));
  std::vector<int64_t> padding;
  for (int64_t l : lengths) padding.push_back(max_length - l);
  // Each source's valid tokens in temporal order.
  std::vector<std::pair<Tensor, Tensor>> parts;
  int64_t h = 0, dk = 0, dv = 0;
  for (const Cache* c : caches) {
    if (c->empty()) {
      parts.emplace_back();
      continue;
    }
    StateTree s = c->state();
    if (s.items.size() < 2 || !s.items[0].is_leaf || s.items[0].leaf.ndim() != 4) {
      throw InvalidInput("cache", c->class_name() + " cannot be merged into a BatchKVCache");
    }
    Tensor k = std::move(s.items[0].leaf), v = std::move(s.items[1].leaf);
    h = std::max(h, k.dim(1));
    dk = std::max(dk, k.dim(3));
    dv = std::max(dv, v.dim(3));
    parts.emplace_back(std::move(k), std::move(v));
  }
  const auto b = static_cast<int64_t>(caches.size());
  // The merged cache keeps the dtype of its caches' keys (F32 when all are empty).
  DType dtype = DType::F32;
  for (const auto& part : parts) {
    if (part.first.ndim() != 0) dtype = part.first.dtype();
  }
  Tensor keys(dtype, {b, h, max_length, dk}), values(dtype, {b, h, max_length, dv});
  for (int64_t i = 0; i < b; ++i) {
    const auto& [k, v] = parts[static_cast<size_t>(i)];
    if (k.ndim() == 0) continue;
    const int64_t l = lengths[static_cast<size_t>(i)];
    write_row_tokens(keys, i, slice_tokens(k, k.dim(2) - l, k.dim(2)), padding[i]);
    write_row_tokens(values, i, slice_tokens(v, v.dim(2) - l, v.dim(2)), padding[i]);
  }
  auto cache = std::make_unique<BatchKVCache>(padding);
  cache->keys_ = std::move(keys);
  cache->values_ = std::move(values);
  for (auto& o : cache->offset_) o += max_length;
  cache->idx_ = max_length;
  return cache;
}

}  // namespace mlxlm
