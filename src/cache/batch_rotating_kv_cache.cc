#include "cache/batch_rotating_kv_cache.h"

#include <algorithm>

#include "base/error.h"
#include "cache/kv_cache.h"
#include "cache/rotating_kv_cache.h"
#include "cache/token_ops.h"

namespace mlxlm {

BatchRotatingKVCache::BatchRotatingKVCache(int64_t max_size, std::vector<int64_t> left_padding)
    : left_padding_(std::move(left_padding)), max_size_(max_size) {
  if (max_size <= 0) throw InvalidInput("cache", "BatchRotatingKVCache max_size must be positive");
  for (int64_t l : left_padding_) offset_.push_back(-l);
}

void BatchRotatingKVCache::temporal_order() {
  if (!rotated_) return;
  keys_ = roll_tokens(keys_, -idx_);
  values_ = roll_tokens(values_, -idx_);
  idx_ = keys_.dim(2);
  rotated_ = false;
}

KVBlock BatchRotatingKVCache::update_concat(const Tensor& keys, const Tensor& values) {
  if (empty()) {
    keys_ = keys.clone();
    values_ = values.clone();
  } else {
    temporal_order();
    if (keys_.dim(2) > idx_) {
      keys_ = slice_tokens(keys_, 0, idx_);
      values_ = slice_tokens(values_, 0, idx_);
    }
    // Roll right-padded rows so that their padding, not their tokens, falls off the front.
    if (lengths_) {
      std::vector<int64_t> roll(offset_.size());
      for (size_t i = 0; i < roll.size(); ++i)
        roll[i] = std::max<int64_t>(0, offset_[i] - (*lengths_)[i]);
      keys_ = dynamic_roll(keys_, roll);
      values_ = dynamic_roll(values_, roll);
      for (size_t i = 0; i < roll.size(); ++i) {
        left_padding_[i] += roll[i];
        offset_[i] -= roll[i];
      }
    }
    const int64_t trim_size = idx_ - max_size_ + 1;
    if (trim_size > 0) {
      for (auto& l : left_padding_) l -= trim_size;
      keys_ = slice_tokens(keys_, trim_size, keys_.dim(2));
      values_ = slice_tokens(values_, trim_size, values_.dim(2));
    }
    keys_ = concat_tokens({&keys_, &keys});
    values_ = concat_tokens({&values_, &values});
  }
  const int64_t s = keys.dim(2);
  for (auto& o : offset_) o += s;
  offset_scalar_ += s;
  idx_ = keys_.dim(2);
  return float_block(keys_, values_, idx_);
}

KVBlock BatchRotatingKVCache::update_in_place(const Tensor& keys, const Tensor& values) {
  if (lengths_) {
    throw InvalidInput("cache",
                       "finalize() should be called before decoding with BatchRotatingKVCache");
  }
  const int64_t prev = offset_scalar_, s = keys.dim(2);
  if (empty() || (prev >= keys_.dim(2) && keys_.dim(2) < max_size_)) {
    const int64_t new_size = std::min(kStep, max_size_ - prev);
    Tensor new_k = zeros_tokens(keys, new_size), new_v = zeros_tokens(values, new_size);
    if (!empty()) {
      keys_ = concat_tokens({&keys_, &new_k});
      values_ = concat_tokens({&values_, &new_v});
    } else {
      keys_ = std::move(new_k);
      values_ = std::move(new_v);
    }
    idx_ = prev;
  }
  const int64_t trim_size = keys_.dim(2) - max_size_;
  if (trim_size > 0) {
    keys_ = slice_tokens(keys_, trim_size, keys_.dim(2));
    values_ = slice_tokens(values_, trim_size, values_.dim(2));
    idx_ = max_size_;
    for (auto& l : left_padding_) l -= trim_size;
  }
  if (idx_ == max_size_) {
    rotated_ = true;
    idx_ = 0;
  }
  if (rotated_) {
    for (auto& l : left_padding_) l -= s;
  }
  write_tokens(keys_, keys, idx_);
  write_tokens(values_, values, idx_);
  offset_scalar_ += s;
  for (auto& o : offset_) o += s;
  idx_ += s;
  return float_block(keys_, values_, offset_scalar_ < max_size_ ? offset_scalar_ : keys_.dim(2));
}

KVBlock BatchRotatingKVCache::update_and_fetch(const Tensor& keys, const Tensor& values) {
  MLXLM_CHECK(keys.ndim() == 4 && values.ndim() == 4, "cache", "keys/values must be [B,H,S,D]");
  if (keys.dim(0) != static_cast<int64_t>(offset_.size())) {
    throw InvalidInput("cache", "BatchRotatingKVCache has " + std::to_string(offset_.size()) +
                                    " rows, update has " + std::to_string(keys.dim(0)));
  }
  return keys.dim(2) == 1 ? update_in_place(keys, values) : update_concat(keys, values);
}

void BatchRotatingKVCache::prepare(const BatchPrepare& args) {
  if (args.left_padding) {
    if (!empty()) {
      throw InvalidInput("cache",
                         "Left padding can only be added to an empty BatchRotatingKVCache");
    }
    for (size_t i = 0; i < left_padding_.size(); ++i) {
      left_padding_[i] += args.left_padding->at(i);
      offset_[i] -= args.left_padding->at(i);
    }
  }
  if (args.right_padding && !args.right_padding->empty() &&
      *std::max_element(args.right_padding->begin(), args.right_padding->end()) > 0) {
    if (!args.lengths) throw InvalidInput("cache", "prepare with right padding needs lengths");
    std::vector<int64_t> l = *args.lengths;
    for (size_t i = 0; i < l.size(); ++i) l[i] += offset_.at(i);
    lengths_ = std::move(l);
  }
}

void BatchRotatingKVCache::finalize() {
  if (!lengths_) return;
  std::vector<int64_t> roll(offset_.size());
  for (size_t i = 0; i < roll.size(); ++i)
    roll[i] = std::max<int64_t>(0, offset_[i] - (*lengths_)[i]);
  if (!empty()) {
    keys_ = dynamic_roll(keys_, roll);
    values_ = dynamic_roll(values_, roll);
  }
  for (size_t i = 0; i < roll.size(); ++i) {
    left_padding_[i] += roll[i];
    offset_[i] -= roll[i];
  }
  lengths_.reset();
}

StateTree BatchRotatingKVCache::state() const {
  if (empty())
    throw InvalidInput("cache", "BatchRotatingKVCache is empty: there is no state to save");
  StateTree s;
  if (offset_scalar_ < keys_.dim(2)) {
    s.add(slice_tokens(keys_, 0, offset_scalar_)).add(slice_tokens(values_, 0, offset_scalar_));
  } else {
    s.add(keys_.clone()).add(values_.clone());
  }
  s.add(int_tensor(offset_)).add(int_tensor(left_padding_));
  return s;
}

void BatchRotatingKVCache::set_state(StateTree state) {
  expect_list(state, 4, "BatchRotatingKVCache");
  StateTree kv;
  kv.add(std::move(state.items[0])).add(std::move(state.items[1]));
  auto [k, v] = take_kv_state(kv, "BatchRotatingKVCache");
  auto offsets = take_ints(state.items[2], "BatchRotatingKVCache offset");
  auto padding = take_ints(state.items[3], "BatchRotatingKVCache left_padding");
  if (static_cast<int64_t>(offsets.size()) != k.dim(0) ||
      static_cast<int64_t>(padding.size()) != k.dim(0)) {
    throw InvalidInput("cache", "BatchRotatingKVCache keys have batch size " +
                                    std::to_string(k.dim(0)) + " but offset has " +
                                    std::to_string(offsets.size()) + " and left_padding " +
                                    std::to_string(padding.size()) + " entries");
  }
  keys_ = std::move(k);
  values_ = std::move(v);
  offset_ = std::move(offsets);
  left_padding_ = std::move(padding);
}

MetaTree BatchRotatingKVCache::meta_state() const {
  MetaTree m = MetaTree::ints({max_size_, offset_scalar_, idx_});
  m.items.push_back(MetaTree::str(rotated_ ? "True" : "False"));
  return m;
}

void BatchRotatingKVCache::set_meta_state(const MetaTree& meta) {
  if (meta.is_leaf || meta.items.size() != 4) {
    throw InvalidInput("cache",
                       "BatchRotatingKVCache meta state must be (max_size, _offset, "
                       "_idx, rotated)");
  }
  MetaTree ints = MetaTree::list({meta.items[0], meta.items[1], meta.items[2]});
  auto v = parse_meta_ints(ints, 3, "BatchRotatingKVCache");
  const std::string& r = meta.items[3].value;
  if (r != "True" && r != "False") {
    throw InvalidInput("cache",
                       "BatchRotatingKVCache rotated flag must be True or False, got '" + r + "'");
  }
  max_size_ = v[0];
  offset_scalar_ = v[1];
  idx_ = v[2];
  rotated_ = r == "True";
}

void BatchRotatingKVCache::validate() const {
  const int64_t held = keys_.dim(2);
  const bool ok = max_size_ > 0 && idx_ >= 0 && idx_ <= held && offset_scalar_ >= 0 &&
                  (offset_scalar_ < max_size_ ? held == offset_scalar_ : held >= max_size_);
  if (!ok) {
    throw InvalidInput("cache", "BatchRotatingKVCache holds " + std::to_string(held) +
                                    " tokens but its meta state says max_size " +
                                    std::to_string(max_size_) + ", _offset " +
                                    std::to_string(offset_scalar_) + ", _idx " +
                                    std::to_string(idx_));
  }
}

std::unique_ptr<Cache> BatchRotatingKVCache::copy() const {
  auto c = std::make_unique<BatchRotatingKVCache>(max_size_, left_padding_);
  if (!empty()) {
    c->keys_ = keys_.clone();
    c->values_ = values_.clone();
  }
  c->offset_ = offset_;
  c->idx_ = idx_;
  c->offset_scalar_ = offset_scalar_;
  c->rotated_ = rotated_;
  c->lengths_ = lengths_;
  return c;
}

int64_t BatchRotatingKVCache::trim(int64_t n) {
  n = std::min(offset_scalar_, n);
  offset_scalar_ -= n;
  idx_ -= n;
  for (auto& o : offset_) o -= n;
  return n;
}

AttentionMask BatchRotatingKVCache::make_mask(int64_t n, int64_t window, bool) const {
  const int64_t w = window > 0 ? window : max_size_;
  const int64_t off = std::min(max_size_ - 1, offset_scalar_);
  std::vector<int64_t> lp = left_padding_;
  const int64_t trim_size = idx_ - max_size_ + (n > 1 ? 1 : 0);
  if (trim_size > 0) {
    for (auto& l : lp) l -= trim_size;
  }
  const bool rotated = n == 1 && (rotated_ || idx_ >= max_size_);
  if (rotated) {
    for (auto& l : lp) l -= 1;
  }
  AttentionMask m = create_causal_mask(n, off, w, &lp);
  if (rotated) {
    int64_t idx = idx_;
    if (idx >= max_size_) idx = 0;
    roll_mask_keys(m, idx + 1);
  }
  return m;
}

std::vector<int64_t> BatchRotatingKVCache::row_offsets(int64_t batch) const {
  MLXLM_CHECK(batch == static_cast<int64_t>(offset_.size()), "cache", "batch size ", batch, " vs ",
              offset_.size());
  return offset_;
}

void BatchRotatingKVCache::filter(const std::vector<int64_t>& indices) {
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
}

void BatchRotatingKVCache::extend(Cache& other_cache) {
  auto* other = dynamic_cast<BatchRotatingKVCache*>(&other_cache);
  if (other == nullptr) {
    throw InvalidInput("cache", "BatchRotatingKVCache can only be extended by another");
  }
  auto cat = [](std::vector<int64_t> a, const std::vector<int64_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  if (empty() && other->empty()) {
    left_padding_ = cat(left_padding_, other->left_padding_);
    offset_ = cat(offset_, other->offset_);
    return;
  }
  if (rotated_ != other->rotated_ || idx_ != other->idx_) {
    if (!empty()) temporal_order();
    if (!other->empty()) other->temporal_order();
  }
  const int64_t max_idx = std::max(idx_, other->idx_);
  const Tensor& ref_k = !empty() ? keys_ : other->keys_;
  const Tensor& ref_v = !empty() ? values_ : other->values_;
  const int64_t max_len =
      std::max(empty() ? 0 : keys_.dim(2), other->empty() ? 0 : other->keys_.dim(2));
  auto pad = [&](BatchRotatingKVCache& c, Tensor& k, Tensor& v) {
    const int64_t left = max_idx - c.idx_;
    if (!c.empty()) {
      k = c.keys_.clone();
      v = c.values_.clone();
    }
    right_justify_tokens(k, v, ref_k, ref_v, static_cast<int64_t>(c.offset_.size()), left, max_len);
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
  offset_scalar_ = std::max(offset_scalar_, other->offset_scalar_);
}

std::unique_ptr<Cache> BatchRotatingKVCache::extract(int64_t idx) const {
  if (idx < 0 || idx >= static_cast<int64_t>(offset_.size())) {
    throw InvalidInput(
        "cache", "BatchRotatingKVCache extract: row " + std::to_string(idx) + " out of range");
  }
  auto c = std::make_unique<RotatingKVCache>(max_size_);
  if (empty()) return c;
  const int64_t padding = std::max<int64_t>(0, left_padding_[static_cast<size_t>(idx)]);
  Tensor k = take_rows(keys_, {idx}), v = take_rows(values_, {idx});
  int64_t end = idx_;
  if (rotated_) {
    k = roll_tokens(k, -idx_);
    v = roll_tokens(v, -idx_);
    end = max_size_;
  }
  end = std::min(end, k.dim(2));
  k = slice_tokens(k, std::min(padding, end), end);
  v = slice_tokens(v, std::min(padding, end), end);
  const int64_t held = k.dim(2);
  c->buffer().set_state(std::move(k), std::move(v));
  c->buffer().set_meta(0, max_size_, offset_[static_cast<size_t>(idx)], held);
  return c;
}

std::unique_ptr<BatchRotatingKVCache> BatchRotatingKVCache::merge(
    const std::vector<const Cache*>& caches) {
  MLXLM_CHECK(!caches.empty(), "cache", "merge of no caches");
  std::vector<const RotatingKVCache*> rc;
  for (const Cache* c : caches) {
    const auto* r = dynamic_cast<const RotatingKVCache*>(c);
    if (r == nullptr) {
      throw InvalidInput("cache",
                         c->class_name() + " cannot be merged into a BatchRotatingKVCache");
    }
    rc.push_back(r);
  }
  for (const auto* r : rc) {
    if (r->max_size() != rc[0]->max_size()) {
      throw InvalidInput("cache",
                         "BatchRotatingKVCache can only merge caches with the same maximum size");
    }
  }
  std::vector<int64_t> offsets, lengths;
  for (const auto* r : rc) {
    offsets.push_back(r->offset());
    lengths.push_back(r->size());
  }
  const int64_t max_length = *std::max_element(lengths.begin(), lengths.end());
  const int64_t max_size = rc[0]->max_size();
  if (max_length == 0) {
    return std::make_unique<BatchRotatingKVCache>(max_size, std::vector<int64_t>(rc.size(), 0));
  }
  std::vector<int64_t> padding;
  for (int64_t l : lengths) padding.push_back(max_length - l);
  int64_t h = 0, dk = 0, dv = 0;
  DType dtype = DType::F32;  // the merged cache keeps its caches' dtype
  for (const auto* r : rc) {
    if (r->empty()) continue;
    h = std::max(h, r->buffer().keys().dim(1));
    dk = std::max(dk, r->buffer().keys().dim(3));
    dv = std::max(dv, r->buffer().values().dim(3));
    dtype = r->buffer().keys().dtype();
  }
  const auto b = static_cast<int64_t>(rc.size());
  Tensor keys(dtype, {b, h, max_length, dk}), values(dtype, {b, h, max_length, dv});
  for (int64_t i = 0; i < b; ++i) {
    const auto* r = rc[static_cast<size_t>(i)];
    if (r->empty()) continue;
    const int64_t l = lengths[static_cast<size_t>(i)];
    Tensor k = r->buffer().temporal(r->buffer().keys());
    Tensor v = r->buffer().temporal(r->buffer().values());
    write_row_tokens(keys, i, slice_tokens(k, k.dim(2) - l, k.dim(2)), padding[i]);
    write_row_tokens(values, i, slice_tokens(v, v.dim(2) - l, v.dim(2)), padding[i]);
  }
  auto cache = std::make_unique<BatchRotatingKVCache>(max_size, padding);
  cache->keys_ = std::move(keys);
  cache->values_ = std::move(values);
  cache->offset_ = offsets;
  cache->idx_ = max_length;
  cache->offset_scalar_ = max_length;
  return cache;
}

}  // namespace mlxlm
