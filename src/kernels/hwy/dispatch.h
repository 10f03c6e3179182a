#pragma once
// Entry points of the Highway kernels. Each forwards to the best compiled SIMD target for this
// CPU (HWY_DYNAMIC_DISPATCH); the callers in kernels/ own threading and scratch memory. This
// header is plain C++ so that nothing outside kernels/hwy sees Highway.
#include <cstdint>

#include "kernels/attention.h"
#include "kernels/quant_acts.h"
#include "kernels/rope.h"
#include "kernels/weight.h"

namespace mlxlm::kernels {

// Prefill attention tiles: query rows per tile, and keys per block of the transposed keys
// (head h, block b, dimension d, key c at [((h * blocks + b) * head_dim + d) * kKeyBlock + c]).
inline constexpr int kQueryTile = 4;
// Query heads that decoding attention runs together over one kv head's keys and values.
inline constexpr int kDecodeHeads = 4;
inline constexpr int64_t kKeyBlock = 8;
constexpr int64_t key_blocks(int64_t keys) { return (keys + kKeyBlock - 1) / kKeyBlock; }

}  // namespace mlxlm::kernels

namespace mlxlm::kernels::simd {

// Activation rows from which float-format products run as outer products over widened panels
// (float_panel-inl.h, AVX2): each call packs its activations once, so such products take one
// range of rows per thread.
inline constexpr int64_t kFloatPanelMinRows = 64;

// y[i, r] for r in [row_begin, row_end), all i < m, of a float-format weight (F32/F16/BF16).
void matmul_float_rows(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y,
                       int64_t row_begin, int64_t row_end);

// The same for quantized weights (Affine, MxFp4) against activations already quantized for
// this weight by quantize_acts().
void matmul_quant_rows(const QuantizedActs& x, const WeightRef& w, const float* bias, float* y,
                       int64_t row_begin, int64_t row_end);

// Quantizes `blocks` blocks of 32 floats to int8 in natural order, scale[b] * q = x; sums[b] is
// the sum of block b's codes.
void quantize_blocks(const float* x, int64_t blocks, int8_t* q, float* scale, int32_t* sums);
// Lays out `pairs` block pairs of natural-order codes in CodeOrder::Nibbles order.
void nibble_pairs(const int8_t* natural, int64_t pairs, int8_t* q);

void rms_norm_rows(const float* x, const float* weight, float eps, int64_t rows, int64_t dim,
                   float* y);
void silu_mul(const float* gate, const float* up, int64_t n, float* out);
void softmax_rows(float* x, int64_t rows, int64_t n);
float logsumexp(const float* x, int64_t n);
int64_t argmax(const float* x, int64_t n);
void add_inplace(float* x, const float* y, int64_t n);
float sum(const float* x, int64_t n);
// The sum modulo 2^64 of the little-endian 64-bit words at p .. p + n, the last partial one
// zero-padded.
uint64_t word_sum(const uint8_t* p, int64_t n);
// Rotates one token's heads, given its cos/sin tables (rot_dim / 2 entries each).
void rope_token(float* x, const RopeArgs& args, const float* cos_t, const float* sin_t);
// A decoding task's keys, when they are split into `chunks` ranges of `chunk_keys` keys (split-K,
// so that a few kv heads still give every thread work): the task for range c writes, for each
// head g of its set, [max score, sum of exp(score - max), v_head_dim values normalised by that
// sum] at partials + (task * kDecodeHeads + g) * (v_head_dim + 2), to be merged afterwards.
struct KeySplit {
  int64_t chunks = 1;
  int64_t chunk_keys = 0;
  float* partials = nullptr;
};

// Attention for decoding tasks [task_begin, task_end): query row i with a set of `set_heads`
// (1 .. kDecodeHeads) of the query heads that share kv head h, ceil(group / set_heads) sets per
// kv head, and split.chunks key ranges per set, in row, head, set, range order. `scratch` holds
// kDecodeHeads * kv_len floats.
void attention_tasks(const AttentionArgs& args, int set_heads, const KeySplit& split,
                     int64_t task_begin, int64_t task_end, float* scratch);
// Writes kv heads [head_begin, head_end) of args.k, transposed into blocks of kKeyBlock keys
// (zero past kv_len), to keys_t.
void transpose_keys(const AttentionArgs& args, int64_t head_begin, int64_t head_end, float* keys_t);
// Attention for tiles [task_begin, task_end) of n_heads * ceil(q_len / kQueryTile) tiles (head
// h, rows [t * kQueryTile, ...) at task h * tiles + t) over keys transposed by transpose_keys.
// `scratch` holds kQueryTile * key_blocks(kv_len) * kKeyBlock floats.
void attention_tile_tasks(const AttentionArgs& args, const float* keys_t, int64_t task_begin,
                          int64_t task_end, float* scratch);

// The name of the SIMD target dispatch picks now ("AVX2", "AVX3", ...).
const char* active_target_name();

}  // namespace mlxlm::kernels::simd
