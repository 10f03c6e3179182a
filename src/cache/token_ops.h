#pragma once
// Token-axis operations on cache buffers laid out [B, H, T, D] of any element type. They are the
// few array operations mlx-lm's caches are written in (slice, concatenate, pad, roll, take rows),
// so each cache reads like its mlx-lm counterpart.
// Writing or concatenating keys of another float dtype (F32, F16, BF16) converts them to the
// dtype of the destination (of the first part, for concatenation).
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "tensor/tensor.h"

namespace mlxlm {

// True for a default-constructed tensor: mlx-lm's `None` (a zero-length buffer is not None).
inline bool is_none(const Tensor& t) { return t.ndim() == 0; }

// A [B, H, T, D] tensor of zeros shaped like `like` but with `tokens` tokens.
Tensor zeros_tokens(const Tensor& like, int64_t tokens);
// Copies tokens [from, to) into a new [B, H, to - from, D] tensor.
Tensor slice_tokens(const Tensor& buffer, int64_t from, int64_t to);
// Copies tokens [from, to) of batch row `row` into a new [1, H, to - from, D] tensor: take_rows
// and slice_tokens in one copy.
Tensor slice_row_tokens(const Tensor& buffer, int64_t row, int64_t from, int64_t to);
// Writes src [B, H, S, D] into dst [B, H, T, D] at token position `at`.
void write_tokens(Tensor& dst, const Tensor& src, int64_t at);
// Concatenates along the token axis; every part shares B, H, D and dtype.
Tensor concat_tokens(const std::vector<const Tensor*>& parts);
inline Tensor concat_tokens(std::initializer_list<const Tensor*> parts) {
  return concat_tokens(std::vector<const Tensor*>(parts));
}
// Adds `left` zero tokens before and `right` after.
Tensor pad_tokens(const Tensor& x, int64_t left, int64_t right);
// mx.roll along the token axis: out[t] = x[(t - shift) mod T].
Tensor roll_tokens(const Tensor& x, int64_t shift);
// dynamic_roll: rolls row b of the batch by shifts[b].
Tensor dynamic_roll(const Tensor& x, const std::vector<int64_t>& shifts);
// Rows `indices` of the batch axis, in that order.
Tensor take_rows(const Tensor& x, const std::vector<int64_t>& indices);
// Concatenates along the batch axis (any rank, equal trailing dims).
Tensor concat_rows(const Tensor& a, const Tensor& b);
// mlx-lm KVCache's growth: makes room in keys/values (None at first) for `incoming` tokens after
// the `used` ones, adding whole steps of `step` zero tokens (and first dropping the unused tail
// when `used` is not a multiple of `step`, as mlx-lm does). `like_k`/`like_v` give B, H, D, dtype.
// Buffers of 256 KiB and more get pages of their own and later grow in place (mremap): a heap
// would keep each outgrown buffer as a hole too small for its successor.
void grow_token_buffers(Tensor& keys, Tensor& values, const Tensor& like_k, const Tensor& like_v,
                        int64_t used, int64_t incoming, int64_t step);
// One side of the batch caches' extend: `keys`/`values` (None for an empty side of `rows` rows;
// `ref_k`/`ref_v` give the shape) moved right by `left` zero tokens, then cut or zero-padded on
// the right to `length` tokens.
void right_justify_tokens(Tensor& keys, Tensor& values, const Tensor& ref_k, const Tensor& ref_v,
                          int64_t rows, int64_t left, int64_t length);
// Writes src [1, ...] into row `row` of dst, placing its tokens at `at` (4-D) .
void write_row_tokens(Tensor& dst, int64_t row, const Tensor& src, int64_t at);

}  // namespace mlxlm
