#include "cache/token_ops.h"

#include <cstring>

#include "base/error.h"

namespace mlxlm {
namespace {

// memcpy that tolerates empty ranges with null pointers (UBSan flags memcpy(nullptr, ..., 0)).
void copy_bytes(void* dst, const void* src, size_t n) {
  if (n > 0) std::memcpy(dst, src, n);
}

uint8_t* bytes(Tensor& t) { return static_cast<uint8_t*>(t.data()); }
const uint8_t* bytes(const Tensor& t) { return static_cast<const uint8_t*>(t.data()); }

void check4(const Tensor& t, const char* what) {
  MLXLM_CHECK(t.ndim() == 4, "cache", what, " needs a [B, H, T, D] tensor, got ",
              shape_str(t.shape()));
}

bool is_float(DType d) { return d == DType::F32 || d == DType::F16 || d == DType::BF16; }

// `src` as `dtype`: src itself when it already is, else a converted copy kept in `scratch`.
// A buffer keeps the dtype it was created with (a cache loaded as f32 stays f32 when a bf16
// model appends to it), so writes of another float dtype are converted, never refused.
const Tensor& in_dtype(const Tensor& src, DType dtype, Tensor& scratch) {
  if (src.dtype() == dtype) return src;
  MLXLM_CHECK(is_float(src.dtype()) && is_float(dtype), "cache", "cannot store ",
              dtype_name(src.dtype()), " values in a ", dtype_name(dtype), " buffer");
  Tensor f = to_f32(src.view());
  if (dtype == DType::F32) return scratch = std::move(f);
  scratch = Tensor(dtype, src.shape());
  convert_from_f32(f.data<float>(), f.numel(), dtype, scratch.data());
  return scratch;
}

// Tokens [from, to) of batch rows [row0, row1).
Tensor slice_rows_tokens(const Tensor& buffer, int64_t row0, int64_t row1, int64_t from,
                         int64_t to) {
  const int64_t h = buffer.dim(1), cap = buffer.dim(2), d = buffer.dim(3);
  MLXLM_CHECK(0 <= from && from <= to && to <= cap, "cache", "token slice [", from, ", ", to,
              ") of ", cap);
  MLXLM_CHECK(0 <= row0 && row0 <= row1 && row1 <= buffer.dim(0), "cache", "batch rows [", row0,
              ", ", row1, ") of ", buffer.dim(0));
  Tensor out(buffer.dtype(), {row1 - row0, h, to - from, d});
  const size_t row = static_cast<size_t>(d) * dtype_size(buffer.dtype());
  for (int64_t i = 0; i < (row1 - row0) * h; ++i) {
    copy_bytes(bytes(out) + i * (to - from) * row,
               bytes(buffer) + (row0 * h + i) * cap * row + from * row, (to - from) * row);
  }
  return out;
}

// A zeroed buffer shaped like `like` with `tokens` tokens, for a cache that grows it: in pages of
// its own when large (Tensor::zeros_own_pages), so that it can grow in place.
Tensor growable_tokens(const Tensor& like, int64_t tokens) {
  return Tensor::zeros_own_pages(like.dtype(), {like.dim(0), like.dim(1), tokens, like.dim(3)});
}

// Keeps the first `keep` tokens of every [b, h] row of `buffer` and gives it `capacity` tokens,
// the rest zero.
void regrow(Tensor& buffer, int64_t keep, int64_t capacity) {
  const int64_t bh = buffer.dim(0) * buffer.dim(1), cap = buffer.dim(2);
  const size_t row = static_cast<size_t>(buffer.dim(3)) * dtype_size(buffer.dtype());
  if (!buffer.owns_pages()) {
    Tensor out = growable_tokens(buffer, capacity);
    for (int64_t i = 0; i < bh; ++i) {
      copy_bytes(bytes(out) + i * capacity * row, bytes(buffer) + i * cap * row, keep * row);
    }
    buffer = std::move(out);
    return;
  }
  // In place: the pages grow (no copy, no fresh pages but the new ones), then each row moves
  // out to its new stride, the last first, so that no row lands on one not yet moved (row i
  // starts at i * capacity >= i * cap, past the old end of row i - 1).
  buffer.grow_own_pages({buffer.dim(0), buffer.dim(1), capacity, buffer.dim(3)});
  uint8_t* base = bytes(buffer);
  for (int64_t i = bh - 1; i > 0; --i) {
    std::memmove(base + i * capacity * row, base + i * cap * row, keep * row);
  }
  for (int64_t i = 0; i < bh; ++i) {
    std::memset(base + (i * capacity + keep) * row, 0, (capacity - keep) * row);
  }
}

}  // namespace

Tensor zeros_tokens(const Tensor& like, int64_t tokens) {
  check4(like, "zeros_tokens");
  return Tensor(like.dtype(), {like.dim(0), like.dim(1), tokens, like.dim(3)});
}

Tensor slice_tokens(const Tensor& buffer, int64_t from, int64_t to) {
  check4(buffer, "slice_tokens");
  return slice_rows_tokens(buffer, 0, buffer.dim(0), from, to);
}

Tensor slice_row_tokens(const Tensor& buffer, int64_t row, int64_t from, int64_t to) {
  check4(buffer, "slice_row_tokens");
  return slice_rows_tokens(buffer, row, row + 1, from, to);
}

void write_tokens(Tensor& dst, const Tensor& source, int64_t at) {
  check4(dst, "write_tokens");
  check4(source, "write_tokens");
  Tensor scratch;
  const Tensor& src = in_dtype(source, dst.dtype(), scratch);
  const int64_t bh = src.dim(0) * src.dim(1), s = src.dim(2), cap = dst.dim(2);
  MLXLM_CHECK(src.dim(0) == dst.dim(0) && src.dim(1) == dst.dim(1) && src.dim(3) == dst.dim(3) &&
                  at >= 0 && at + s <= cap,
              "cache", "write ", shape_str(src.shape()), " into ", shape_str(dst.shape()), " at ",
              at);
  const size_t row = static_cast<size_t>(src.dim(3)) * dtype_size(src.dtype());
  for (int64_t i = 0; i < bh; ++i) {
    copy_bytes(bytes(dst) + (i * cap + at) * row, bytes(src) + i * s * row, s * row);
  }
}

Tensor concat_tokens(const std::vector<const Tensor*>& parts) {
  MLXLM_CHECK(!parts.empty(), "cache", "concat of nothing");
  int64_t total = 0;
  for (const Tensor* p : parts) total += p->dim(2);
  Tensor out = zeros_tokens(*parts[0], total);
  int64_t at = 0;
  for (const Tensor* p : parts) {
    write_tokens(out, *p, at);
    at += p->dim(2);
  }
  return out;
}

Tensor pad_tokens(const Tensor& x, int64_t left, int64_t right) {
  Tensor out = zeros_tokens(x, left + x.dim(2) + right);
  write_tokens(out, x, left);
  return out;
}

Tensor roll_tokens(const Tensor& x, int64_t shift) {
  check4(x, "roll_tokens");
  const int64_t n = x.dim(2);
  if (n == 0) return x.clone();
  std::vector<int64_t> shifts(x.dim(0), shift);
  return dynamic_roll(x, shifts);
}

Tensor dynamic_roll(const Tensor& x, const std::vector<int64_t>& shifts) {
  check4(x, "dynamic_roll");
  MLXLM_CHECK(static_cast<int64_t>(shifts.size()) == x.dim(0), "cache", "one shift per row");
  const int64_t h = x.dim(1), n = x.dim(2);
  Tensor out(x.dtype(), x.shape());
  if (n == 0) return out;
  const size_t row = static_cast<size_t>(x.dim(3)) * dtype_size(x.dtype());
  for (int64_t b = 0; b < x.dim(0); ++b) {
    const int64_t s = ((shifts[b] % n) + n) % n;
    for (int64_t hh = 0; hh < h; ++hh) {
      const int64_t base = (b * h + hh) * n;
      // out[t] = x[t - s]: the last s tokens move to the front.
      copy_bytes(bytes(out) + (base + s) * row, bytes(x) + base * row, (n - s) * row);
      copy_bytes(bytes(out) + base * row, bytes(x) + (base + n - s) * row, s * row);
    }
  }
  return out;
}

Tensor take_rows(const Tensor& x, const std::vector<int64_t>& indices) {
  MLXLM_CHECK(x.ndim() >= 1, "cache", "take_rows of a scalar");
  Shape shape = x.shape();
  const size_t row = x.dim(0) == 0 ? 0 : x.nbytes() / static_cast<size_t>(x.dim(0));
  shape[0] = static_cast<int64_t>(indices.size());
  Tensor out(x.dtype(), shape);
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0 || indices[i] >= x.dim(0)) {
      throw InvalidInput("cache", "batch index " + std::to_string(indices[i]) +
                                      " out of range for batch size " + std::to_string(x.dim(0)));
    }
    copy_bytes(bytes(out) + i * row, bytes(x) + indices[i] * row, row);
  }
  return out;
}

Tensor concat_rows(const Tensor& a, const Tensor& second) {
  Tensor scratch;
  const Tensor& b = in_dtype(second, a.dtype(), scratch);
  MLXLM_CHECK(a.ndim() == b.ndim() && a.ndim() >= 1, "cache", "concat_rows of ",
              shape_str(a.shape()), " and ", shape_str(b.shape()));
  for (int i = 1; i < a.ndim(); ++i) {
    MLXLM_CHECK(a.dim(i) == b.dim(i), "cache", "concat_rows of ", shape_str(a.shape()), " and ",
                shape_str(b.shape()));
  }
  Shape shape = a.shape();
  shape[0] += b.dim(0);
  Tensor out(a.dtype(), shape);
  copy_bytes(bytes(out), bytes(a), a.nbytes());
  copy_bytes(bytes(out) + a.nbytes(), bytes(b), b.nbytes());
  return out;
}

void write_row_tokens(Tensor& dst, int64_t row, const Tensor& source, int64_t at) {
  check4(dst, "write_row_tokens");
  check4(source, "write_row_tokens");
  Tensor scratch;
  const Tensor& src = in_dtype(source, dst.dtype(), scratch);
  MLXLM_CHECK(src.dim(0) == 1 && src.dim(1) == dst.dim(1) && src.dim(3) == dst.dim(3) &&
                  at + src.dim(2) <= dst.dim(2),
              "cache", "write_row_tokens shapes");
  const int64_t h = dst.dim(1), cap = dst.dim(2), s = src.dim(2);
  const size_t tok = static_cast<size_t>(dst.dim(3)) * dtype_size(dst.dtype());
  for (int64_t hh = 0; hh < h; ++hh) {
    copy_bytes(bytes(dst) + ((row * h + hh) * cap + at) * tok, bytes(src) + hh * s * tok, s * tok);
  }
}

void grow_token_buffers(Tensor& keys, Tensor& values, const Tensor& like_k, const Tensor& like_v,
                        int64_t used, int64_t incoming, int64_t step) {
  if (!is_none(keys) && used + incoming <= keys.dim(2)) return;
  const int64_t n_steps = (step + incoming - 1) / step;
  if (is_none(keys)) {
    keys = growable_tokens(like_k, n_steps * step);
    values = growable_tokens(like_v, n_steps * step);
    return;
  }
  // mlx-lm cuts a buffer that ends mid-step down to its tokens, then appends the new steps: one
  // copy into the grown buffer does both.
  const int64_t keep = used % step != 0 ? used : keys.dim(2);
  regrow(keys, keep, keep + n_steps * step);
  regrow(values, keep, keep + n_steps * step);
}

void right_justify_tokens(Tensor& keys, Tensor& values, const Tensor& ref_k, const Tensor& ref_v,
                          int64_t rows, int64_t left, int64_t length) {
  if (is_none(keys)) {
    keys = Tensor(ref_k.dtype(), {rows, ref_k.dim(1), 0, ref_k.dim(3)});
    values = Tensor(ref_v.dtype(), {rows, ref_v.dim(1), 0, ref_v.dim(3)});
  }
  int64_t right = length - keys.dim(2) - left;
  if (right < 0) {
    keys = slice_tokens(keys, 0, keys.dim(2) + right);
    values = slice_tokens(values, 0, values.dim(2) + right);
    right = 0;
  }
  if (left != 0 || right != 0) {
    keys = pad_tokens(keys, left, right);
    values = pad_tokens(values, left, right);
  }
}

}  // namespace mlxlm
