// The activations of the weight-rows-in-lanes kernels (row_lanes-inl.h for AVX-512 VNNI,
// row_lanes_avx2-inl.h for AVX2): tiles of 8, 4 and 1 activation rows interleaved per 64-value
// step, so that a tile reaches every row at a constant offset from one pointer. Included once per
// SIMD target by quant_matmul_hwy.cc.
#if defined(MLXLM_KERNELS_LANE_ACTS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLXLM_KERNELS_LANE_ACTS_INL_H_
#undef MLXLM_KERNELS_LANE_ACTS_INL_H_
#else
#define MLXLM_KERNELS_LANE_ACTS_INL_H_
#endif

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include <hwy/highway.h>

#include "base/aligned_vector.h"
#include "kernels/hwy/avx512_vnni.h"
#include "kernels/hwy/x86_int8-inl.h"
#include "kernels/quant_acts.h"

HWY_BEFORE_NAMESPACE();
#if HWY_TARGET == HWY_AVX3_DL
MLXLM_AVX512_VNNI_BEGIN
#endif
namespace mlxlm::kernels::HWY_NAMESPACE {

#if MLXLM_X86_INT8
// Whether the lane kernels take a 4- or 8-bit product: enough activation rows to pay for
// transposing the weight codes (a step's transpose serves every activation row of the tile), and
// whole 64-value steps (4-bit activations come in block pairs).
inline bool LaneRowsApply(const QuantizedActs& a) { return a.m >= 4 && a.k % 64 == 0; }

// M activation rows interleaved per block pair, so that a tile reaches every row at a constant
// offset from one pointer: q [pair][row][64 codes], scale [block][row], group_sum [group][row].
struct ActTile {
  const int8_t* q;
  const float* scale;
  const float* group_sum;
};

// Activation rows in tiles of 8, then 4, then 1 (the tiles LaneRows runs), each interleaved as
// ActTile describes; tile i0 starts at row i0 of every buffer. Each thread builds its own, once
// per quantization (`built`: QuantizedActs::id), so the quantizer and the other kernels keep one
// layout. Built per LaneRows call instead, once per task, it took 1-2 % of a batched decoding
// step.
struct LaneActs {
  AlignedVector<int8_t> q;
  std::vector<float> scale, group_sum;
  uint64_t built = 0;

  template <typename Fn>
  static void for_each_tile(int64_t m, Fn fn) {
    int64_t i = 0;
    for (; i + 8 <= m; i += 8) fn(i, std::integral_constant<int, 8>());
    for (; i + 4 <= m; i += 4) fn(i, std::integral_constant<int, 4>());
    for (; i < m; ++i) fn(i, std::integral_constant<int, 1>());
  }

  void build(const QuantizedActs& a) {
    if (a.id != 0 && a.id == built) return;
    built = a.id;
    const int64_t nb = a.k / kActBlock, groups = a.k / a.group;
    q.resize(static_cast<size_t>(a.m * a.k));
    scale.resize(static_cast<size_t>(a.m * nb));
    group_sum.resize(static_cast<size_t>(a.m * groups));
    for_each_tile(a.m, [&](int64_t i0, auto tile_rows) {
      constexpr int M = decltype(tile_rows)::value;
      for (int i = 0; i < M; ++i) {
        const int64_t row = i0 + i;
        for (int64_t s = 0; s < a.k / 64; ++s) {
          std::memcpy(&q[i0 * a.k + (s * M + i) * 64], a.q + row * a.k + s * 64, 64);
        }
        for (int64_t b = 0; b < nb; ++b) scale[i0 * nb + b * M + i] = a.scale[row * nb + b];
        for (int64_t g = 0; g < groups; ++g) {
          group_sum[i0 * groups + g * M + i] = a.group_sum[row * groups + g];
        }
      }
    });
  }

  ActTile tile(int64_t i0, int64_t k, int64_t nb, int64_t groups) const {
    return {q.data() + i0 * k, scale.data() + i0 * nb, group_sum.data() + i0 * groups};
  }
};

// The codes of a weight tile of `tile_rows` rows starting at `codes`: in place when the tile is
// whole, else a copy in `buf` whose last `tile_rows - rows` rows repeat row rows - 1, so that a
// last partial tile runs the same arithmetic as a whole one.
inline const uint8_t* PaddedTile(const uint8_t* codes, int rows, int tile_rows, int64_t row_bytes,
                                 AlignedVector<uint8_t>& buf) {
  if (rows == tile_rows) return codes;
  buf.resize(static_cast<size_t>(tile_rows * row_bytes));
  for (int l = 0; l < tile_rows; ++l) {
    std::memcpy(&buf[l * row_bytes], codes + std::min(l, rows - 1) * row_bytes, row_bytes);
  }
  return buf.data();
}
#endif  // MLXLM_X86_INT8

}  // namespace mlxlm::kernels::HWY_NAMESPACE
#if HWY_TARGET == HWY_AVX3_DL
MLXLM_AVX512_VNNI_END
#endif
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
