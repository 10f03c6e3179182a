#pragma once
// Intel AMX (Advanced Matrix Extensions) for matrix products with many activation rows:
// prefill and batched decoding. Weights are turned into bf16 tiles (bf16 weights are used in
// place, quantized ones dequantized one panel at a time) and multiplied by bf16 activations
// with `tdpbf16ps`, accumulating in f32 over the whole row, so no per-group rescaling sits in
// the inner loop. AMX is not a Highway target: this path is chosen at run time, next to the
// Highway kernels, only where the CPU and the operating system support it.
#include <cstdint>
#include <vector>

#include "base/aligned_vector.h"

#include "kernels/weight.h"

namespace mlxlm::kernels::amx {

// True when the CPU has AMX-BF16, AMX-INT8 and AVX-512 (F, BW, VL, DQ, BF16, VBMI) and the kernel
// has granted this process the tile state (arch_prctl). Checked once per process.
bool available();
// True when the CPU has AVX-512 (F, BW, VL, DQ, VBMI) with VNNI and the OS saves the ZMM
// state: CPUs without tiles (Zen 4/5, Ice Lake) then run the integer products below on
// `vpdpbusd` (vnni_int8_matmul_rows), with the same panels and packed activations.
bool vnni_available();
// vnni_available() and AVX512_BF16: the bf16 products below then run on `vdpbf16ps`
// (dpbf16_matmul_rows) where there are no tiles.
bool dpbf16_available();
// available() or vnni_available(), and not switched off, by set_enabled(false) or MLXLM_AMX=0
// in the environment: the products with many activation rows take this path.
bool enabled();
// enabled() with AMX tiles, which both products prefer.
bool tiles_enabled();
// Switches the path on or off for the whole process (tests, benchmarks); switching it on has
// no effect where neither kind is available.
void set_enabled(bool on);
// Makes the products use VNNI and vdpbf16ps even where tiles exist (tests, benchmarks).
void set_prefer_vnni(bool on);

// Weight formats the tile path multiplies: bf16, and every quantized format (dequantized to
// bf16 per panel). f32 and f16 weights keep the Highway kernels, which do not round them.
bool supports(const WeightRef& w);

// Activation rows at or above which a product takes the tile path.
constexpr int64_t kMinRows = 8;

// Activations rounded to bf16 and laid out as the A operand of the tile product: blocks of 16
// rows, and within a block steps of 32 columns, each a 16 x 32 bf16 tile of contiguous memory
// (zero past m and k).
struct PackedActs {
  const uint16_t* data = nullptr;
  int64_t m = 0;
  int64_t k = 0;
  int64_t row_blocks = 0;  // ceil(m / 16)
  int64_t k_steps = 0;     // ceil(k / 32)
};

// Owns the packed activations of one product; reused across calls to avoid reallocation.
class ActPacker {
 public:
  // x [m, k]; threads over blocks of rows.
  PackedActs pack(const float* x, int64_t m, int64_t k);

 private:
  AlignedVector<uint16_t> buf_;
};

// Output rows per tile panel; callers split work on multiples of it.
constexpr int64_t kPanelRows = 32;

// y[i, r] = x_i · w_r (+ bias[r]) for r in [row_begin, row_end) and every activation row.
void matmul_rows(const PackedActs& x, const WeightRef& w, const float* bias, float* y,
                 int64_t row_begin, int64_t row_end);
// The same product on AVX512_BF16; call only when dpbf16_available().
void dpbf16_matmul_rows(const PackedActs& x, const WeightRef& w, const float* bias, float* y,
                        int64_t row_begin, int64_t row_end);

// The integer tile path (`tdpbusd`) for affine 4- and 8-bit weights with groups of 64 or 128:
// the codes themselves are the unsigned A operand, the activations are quantized to int8 in
// blocks of 64 (one scale each, as the Highway kernels do in blocks of 32), and each 64-column
// tile product is rescaled by its weight and activation scales into f32 accumulators. Half the
// bytes per multiply-add of the bf16 tiles and no dequantization to floats.
bool supports_int8(const WeightRef& w);
// Activation rows at or above which the integer product of w takes this path: kMinRows with
// tiles; without them 64 for 4-bit and 16 for 8-bit weights, below which the Highway kernels'
// weight rows in lanes (row_lanes-inl.h) are as fast or faster (Zen 5, 1B 4-bit batch 16: the
// products' share of a decoding step fell by a third; 8-bit, 1 thread, m = 8: 163 against 102 G
// multiply-adds/s, m = 16: 165 against 199).
int64_t int8_min_rows(const WeightRef& w);

constexpr int64_t kInt8Block = 64;

// Activations quantized for the integer tiles: blocks of 16 rows; per block and 64-column step
// a 1 KiB tile whose row p holds, for each of the 16 rows, the codes of columns 4p .. 4p + 3
// (in the weight's code order: 4-bit weights unpack a step's even columns, then its odd ones),
// and 16 scales and 16 sums of the dequantized values.
struct Int8Acts {
  const int8_t* q = nullptr;
  const float* scale = nullptr;  // [row block][step][16]
  const float* sum = nullptr;    // [row block][step][16]
  int64_t m = 0;
  int64_t k = 0;
  int64_t row_blocks = 0;  // ceil(m / 16)
  int64_t k_blocks = 0;    // k / 64
  bool nibbles = false;    // code order of 4-bit weights
};

class Int8ActPacker {
 public:
  // x [m, k], k a multiple of 64; `nibbles` for 4-bit weights. Threads over blocks of rows.
  Int8Acts pack(const float* x, int64_t m, int64_t k, bool nibbles);

 private:
  AlignedVector<int8_t> q_;
  std::vector<float> scale_, sum_;
};

void int8_matmul_rows(const Int8Acts& x, const WeightRef& w, const float* bias, float* y,
                      int64_t row_begin, int64_t row_end);
// The same product on AVX-512 VNNI; call only when vnni_available().
void vnni_int8_matmul_rows(const Int8Acts& x, const WeightRef& w, const float* bias, float* y,
                           int64_t row_begin, int64_t row_end);

}  // namespace mlxlm::kernels::amx
