#pragma once
// The buffer logic of mlx-lm's RotatingKVCache (spec 3.2), written once for plain f32 buffers
// (Tensor) and for quantized ones (QuantizedTokens): RotatingKVCache and QuantizedRotatingKVCache
// differ only in what a token slot holds.
#include <algorithm>
#include <string>

#include "base/error.h"
#include "cache/attention_mask.h"
#include "cache/quantized_kv_cache.h"
#include "cache/token_ops.h"

namespace mlxlm {

inline int64_t token_count(const Tensor& t) { return t.ndim() == 0 ? 0 : t.dim(2); }
inline Tensor clone(const Tensor& t) { return t.ndim() == 0 ? Tensor() : t.clone(); }

template <typename Planes>
class RotatingBuffer {
 public:
  static constexpr int64_t kStep = 256;

  RotatingBuffer(int64_t max_size, int64_t keep) : keep_(keep), max_size_(max_size) {
    if (max_size <= 0) throw InvalidInput("cache", "rotating cache max_size must be positive");
    // The newest token needs a slot outside the kept ones: with keep == max_size there is none
    // (mlx-lm's make_prompt_cache builds such a cache for max_kv_size <= 4, and fails in it).
    if (keep < 0 || keep >= max_size) {
      throw InvalidInput("cache", "rotating cache keep (" + std::to_string(keep) +
                                      ") must be in [0, max_size) (max_size " +
                                      std::to_string(max_size) + ")");
    }
  }

  bool empty() const { return !has_keys_; }
  int64_t offset() const { return offset_; }
  int64_t idx() const { return idx_; }
  int64_t keep() const { return keep_; }
  int64_t max_size() const { return max_size_; }
  const Planes& keys() const { return keys_; }
  const Planes& values() const { return values_; }

  // Appends tokens; returns how many leading buffer tokens attention should see.
  int64_t update(const Planes& k, const Planes& v) {
    return token_count(k) == 1 ? update_in_place(k, v) : update_concat(k, v);
  }

  int64_t trim(int64_t n) {
    n = std::min(offset_, n);
    offset_ -= n;
    idx_ -= n;
    return n;
  }

  // mlx-lm's `state`: the buffer in its own (possibly rotated) order, cut to offset when shorter.
  std::pair<Planes, Planes> state() const {
    const int64_t len = token_count(keys_);
    if (offset_ < len) return {slice_tokens(keys_, 0, offset_), slice_tokens(values_, 0, offset_)};
    return {clone(keys_), clone(values_)};
  }
  void set_state(Planes k, Planes v) {
    keys_ = std::move(k);
    values_ = std::move(v);
    has_keys_ = true;
  }
  void set_meta(int64_t keep, int64_t max_size, int64_t offset, int64_t idx) {
    keep_ = keep;
    max_size_ = max_size;
    offset_ = offset;
    idx_ = idx;
  }
  // Checks a loaded state against the meta state.
  void validate(const std::string& what) const {
    const int64_t held = token_count(keys_);
    auto fail = [&](const std::string& why) {
      throw InvalidInput("cache",
                         what + " holds " + std::to_string(held) + " tokens but its meta " +
                             "state says keep " + std::to_string(keep_) + ", max_size " +
                             std::to_string(max_size_) + ", offset " + std::to_string(offset_) +
                             ", _idx " + std::to_string(idx_) + ": " + why);
    };
    if (max_size_ <= 0 || keep_ < 0 || keep_ >= max_size_) fail("keep/max_size out of range");
    if (offset_ < 0 || idx_ < 0 || idx_ > held) fail("_idx must lie within the stored tokens");
    if (offset_ < max_size_ && held != offset_) fail("below max_size every token is stored");
    if (offset_ >= max_size_ && (held < std::min<int64_t>(max_size_, offset_) || held > offset_)) {
      fail("a full rotating cache stores between max_size and offset tokens");
    }
  }
  void copy_from(const RotatingBuffer& o) {
    keep_ = o.keep_;
    max_size_ = o.max_size_;
    offset_ = o.offset_;
    idx_ = o.idx_;
    keys_ = clone(o.keys_);
    values_ = clone(o.values_);
    has_keys_ = o.has_keys_;
  }
  // Puts the buffer in temporal order (used by batch merge/extract).
  Planes temporal(const Planes& v) const { return temporal_order(v); }

  AttentionMask make_mask(int64_t n, int64_t window, bool return_array) const {
    if (n > 1) {
      const int64_t w = window > 0 ? window : max_size_;
      const int64_t off = std::min(max_size_ - 1, offset_);
      if (off + n > w || return_array) return create_causal_mask(n, off, w);
      return AttentionMask::causal();
    }
    if (window <= 0) return AttentionMask::none();
    // A sliding window smaller than the buffer: a rolled one-row mask.
    if (offset_ >= window && max_size_ > window) {
      int64_t idx = idx_;
      if (idx >= max_size_) idx = 0;
      const int64_t size = offset_ < max_size_ ? offset_ + 1 : max_size_;
      AttentionMask m;
      m.kind = AttentionMask::Kind::Array;
      m.rows = 1;
      m.q_len = 1;
      m.kv_len = size;
      m.data.resize(static_cast<size_t>(size));
      for (int64_t j = 0; j < size; ++j) m.data[j] = j >= size - window ? 1 : 0;
      roll_mask_keys(m, idx + 1);
      return m;
    }
    return AttentionMask::none();
  }

 private:
  Planes trim_front(int64_t trim_size, const Planes& v, const Planes* append) const {
    std::vector<const Planes*> parts;
    Planes head, tail;
    if (trim_size > 0) {
      head = slice_tokens(v, 0, keep_);
      tail = slice_tokens(v, trim_size + keep_, token_count(v));
      parts = {&head, &tail};
    } else {
      parts = {&v};
    }
    if (append != nullptr) parts.push_back(append);
    return concat_tokens(parts);
  }

  Planes temporal_order(const Planes& v) const {
    const int64_t len = token_count(v);
    if (idx_ == len) return clone(v);
    if (idx_ < offset_) {
      Planes a = slice_tokens(v, 0, keep_), b = slice_tokens(v, idx_, len),
             c = slice_tokens(v, keep_, idx_);
      return concat_tokens({&a, &b, &c});
    }
    return slice_tokens(v, 0, idx_);
  }

  int64_t update_concat(const Planes& k, const Planes& v) {
    if (!has_keys_) {
      keys_ = clone(k);
      values_ = clone(v);
      has_keys_ = true;
    } else {
      keys_ = temporal_order(keys_);
      values_ = temporal_order(values_);
      idx_ = token_count(keys_);
      // Up to max_size + S - 1 tokens so that every new token sees max_size of context.
      const int64_t trim_size = idx_ - max_size_ + 1;
      keys_ = trim_front(trim_size, keys_, &k);
      values_ = trim_front(trim_size, values_, &v);
    }
    offset_ += token_count(k);
    idx_ = token_count(keys_);
    return idx_;
  }

  int64_t update_in_place(const Planes& k, const Planes& v) {
    const int64_t prev = offset_, s = token_count(k);
    if (!has_keys_ || (prev >= token_count(keys_) && token_count(keys_) < max_size_)) {
      const int64_t new_size = std::min(kStep, max_size_ - prev);
      Planes new_k = zeros_tokens(k, new_size), new_v = zeros_tokens(v, new_size);
      if (has_keys_) {
        keys_ = concat_tokens({&keys_, &new_k});
        values_ = concat_tokens({&values_, &new_v});
      } else {
        keys_ = std::move(new_k);
        values_ = std::move(new_v);
        has_keys_ = true;
      }
      idx_ = prev;
    }
    const int64_t trim_size = token_count(keys_) - max_size_;
    if (trim_size > 0) {
      keys_ = trim_front(trim_size, keys_, nullptr);
      values_ = trim_front(trim_size, values_, nullptr);
      idx_ = max_size_;
    }
    if (idx_ == max_size_) idx_ = keep_;
    write_tokens(keys_, k, idx_);
    write_tokens(values_, v, idx_);
    offset_ += s;
    idx_ += s;
    return offset_ < max_size_ ? offset_ : token_count(keys_);
  }

  int64_t keep_;
  int64_t max_size_;
  int64_t offset_ = 0;
  int64_t idx_ = 0;
  bool has_keys_ = false;
  Planes keys_, values_;
};

}  // namespace mlxlm
