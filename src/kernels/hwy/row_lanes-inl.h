// 4- and 8-bit products of several activation rows (batched decoding) with each weight row in a
// 32-bit lane of its own (AVX-512 VNNI): 16 weight rows are transposed per 64-column step so that
// a vector holds four codes of each of the 16 rows, and each `vpdpbusd` multiplies it with one
// activation quad broadcast from memory. A row's sums then never need a horizontal reduction or a
// fold with its neighbour, and the f32 work per block (convert, scale, accumulate) is shared by 16
// rows instead of 2. Included once per SIMD target by quant_matmul_hwy.cc.
#if defined(MLXLM_KERNELS_ROW_LANES_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLXLM_KERNELS_ROW_LANES_INL_H_
#undef MLXLM_KERNELS_ROW_LANES_INL_H_
#else
#define MLXLM_KERNELS_ROW_LANES_INL_H_
#endif

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include <hwy/highway.h>

#include "base/aligned_vector.h"
#include "kernels/hwy/avx512_vnni.h"
#include "kernels/hwy/lane_acts-inl.h"
#include "kernels/hwy/quant_scales-inl.h"
#include "kernels/hwy/x86_int8-inl.h"
#include "kernels/quant_acts.h"
#include "kernels/weight.h"

HWY_BEFORE_NAMESPACE();
#if HWY_TARGET == HWY_AVX3_DL
MLXLM_AVX512_VNNI_BEGIN
#include "kernels/amx/transpose16-inl.h"
#endif
namespace mlxlm::kernels::HWY_NAMESPACE {

#if MLXLM_VNNI
constexpr int kLaneRows = 16;

// The 32 code bytes at `offset` of 16 rows `stride` bytes apart, transposed: t[c] holds dword c
// (codes 8c .. 8c + 7) of row l in lane l.
HWY_INLINE void TransposeSlices(const uint8_t* rows, int64_t stride, __m512i* t) {
  auto half = [&](int r) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + r * stride));
  };
  __m512i v[8], u[8];
  for (int j = 0; j < 8; ++j) {
    v[j] = _mm512_inserti64x4(_mm512_castsi256_si512(half(j)), half(j + 8), 1);
  }
  // v[j]: row j in 128-bit lanes 0-1, row j + 8 in lanes 2-3 (a 256-bit half each).
  for (int j = 0; j < 4; ++j) {
    u[2 * j] = _mm512_unpacklo_epi32(v[2 * j], v[2 * j + 1]);
    u[2 * j + 1] = _mm512_unpackhi_epi32(v[2 * j], v[2 * j + 1]);
  }
  for (int g = 0; g < 2; ++g) {
    v[4 * g] = _mm512_unpacklo_epi64(u[4 * g], u[4 * g + 2]);
    v[4 * g + 1] = _mm512_unpackhi_epi64(u[4 * g], u[4 * g + 2]);
    v[4 * g + 2] = _mm512_unpacklo_epi64(u[4 * g + 1], u[4 * g + 3]);
    v[4 * g + 3] = _mm512_unpackhi_epi64(u[4 * g + 1], u[4 * g + 3]);
  }
  // v[4g + e], 128-bit lane L: dword e (L = 0, 2) or 4 + e (L = 1, 3) of rows 4g .. 4g + 3
  // (L < 2) or 8 + 4g .. 11 + 4g (L >= 2).
  const __m512i first = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
  const __m512i second = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
  for (int e = 0; e < 4; ++e) {
    t[e] = _mm512_permutex2var_epi64(v[e], first, v[4 + e]);
    t[4 + e] = _mm512_permutex2var_epi64(v[e], second, v[4 + e]);
  }
}

// The per-group values (scales or biases, F32/F16/BF16) of rows [r, r + rows) as f32,
// transposed to dst[group][16] (a last partial tile repeats its last row): 64 bytes of each row
// at a time, transposed as dwords (one f32, or two 16-bit values), then converted in registers.
template <DType SD>
HWY_INLINE void LaneGroupValues(const void* src, int64_t r, int rows, int64_t groups, float* dst) {
  constexpr int64_t kBytes = kScaleBytes<SD>;
  constexpr int64_t kChunk = 64 / kBytes;  // values per row and transpose
  const auto* base = static_cast<const uint8_t*>(src);
  for (int64_t g0 = 0; g0 < groups; g0 += kChunk) {
    const int64_t n = std::min(kChunk, groups - g0);
    const auto mask = n == kChunk ? ~__mmask64{0} : (__mmask64{1} << (n * kBytes)) - 1;
    __m512i v[kLaneRows];
    for (int l = 0; l < kLaneRows; ++l) {
      const int64_t row = r + std::min(l, rows - 1);
      v[l] = _mm512_maskz_loadu_epi8(mask, base + (row * groups + g0) * kBytes);
    }
    amx::transpose16(v);
    for (int64_t c = 0; c * 4 < n * kBytes; ++c) {
      float* out = dst + (g0 + c * (4 / kBytes)) * kLaneRows;
      if constexpr (SD == DType::F32) {
        _mm512_store_si512(out, v[c]);
      } else if constexpr (SD == DType::BF16) {
        _mm512_store_si512(out, _mm512_slli_epi32(v[c], 16));
        _mm512_store_si512(out + kLaneRows, _mm512_and_si512(v[c], _mm512_set1_epi32(-65536)));
      } else {
        _mm512_store_ps(out, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v[c])));
        _mm512_store_ps(out + kLaneRows,
                        _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(v[c], 16))));
      }
    }
  }
}

// out[i][l] = row l's product with activation row i of the tile, for i < M, with B-bit codes
// (4 or 8): per block the eight dot-product steps of each row land in its lane, and the f32
// scaling is done once per block and activation row. `codes` holds 16 rows `stride` bytes apart;
// `ws` / `wb` are their scales and biases per group ([groups][16]); `next` the codes to prefetch
// (the next tile) or null.
template <int B, int M>
HWY_INLINE void LaneTile(const uint8_t* codes, int64_t stride, const ActTile& x, int64_t k,
                         int shift, const float* ws, const float* wb, const uint8_t* next,
                         __m512* out) {
  for (int i = 0; i < M; ++i) out[i] = _mm512_setzero_ps();
  auto quad = [](const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  };
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  constexpr int64_t kStepBytes = 64 * B / 8;  // of each row, per 64-value step
  for (int64_t s = 0; s < k / 64; ++s) {
    // The next tile's codes, as many 64-byte lines as this step reads.
    if (next != nullptr) {
      for (int j = 0; j < kStepBytes / 4; ++j) {
        _mm_prefetch(reinterpret_cast<const char*>(next + s * 16 * kStepBytes + 64 * j),
                     _MM_HINT_T1);
      }
    }
    // Dword c of a row's 32 bytes of 4-bit codes holds codes 8c .. 8c + 7: low nibbles the even
    // ones (the activations' nibble order puts a block's even values first), high nibbles the
    // odd ones.
    __m512i t[8];
    if constexpr (B == 4) TransposeSlices(codes + s * 32, stride, t);
    const int8_t* xs = x.q + s * 64 * M;
    // w[e][j]: codes 4j .. 4j + 3 of block e, one row per lane.
    __m512i w[2][8];
    for (int e = 0; e < 2; ++e) {
      if constexpr (B == 4) {
        for (int j = 0; j < 4; ++j) {
          w[e][j] = _mm512_and_si512(t[4 * e + j], low4);
          w[e][4 + j] = _mm512_and_si512(_mm512_srli_epi16(t[4 * e + j], 4), low4);
        }
      } else {
        TransposeSlices(codes + s * 64 + 32 * e, stride, w[e]);
      }
    }
    const int64_t b0 = 2 * s, g0 = b0 >> shift, g1 = (b0 + 1) >> shift;
    const __m512 ws0 = _mm512_load_ps(ws + g0 * kLaneRows);
    // The activation quads matching w[e][j] and w[e][4 + j]: CodeOrder::Nibbles puts the pair's
    // even values of block e at 16e and its odd values 32 further; CodeOrder::Natural block e
    // at 32e.
    auto dot = [&](const int8_t* xi, int e) {
      const int64_t first = B == 4 ? 16 * e : 32 * e, second = first + (B == 4 ? 32 : 16);
      __m512i acc = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        acc = _mm512_dpbusd_epi32(acc, w[e][j], quad(xi + first + 4 * j));
        acc = _mm512_dpbusd_epi32(acc, w[e][4 + j], quad(xi + second + 4 * j));
      }
      return _mm512_cvtepi32_ps(acc);
    };
    // Unrolled, so that out[] stays in registers: GCC 12 otherwise keeps it on the stack, a
    // store and a reload per block and row (BM_DecodeLayers/8 +18 % with the unrolling and the
    // biases' own loop below).
    if (g0 == g1) {
      // Both blocks in one group: their activation-scaled sums meet before the weight scale,
      // one multiply fewer per row.
#pragma GCC unroll 8
      for (int i = 0; i < M; ++i) {
        const int8_t* xi = xs + 64 * i;
        __m512 sum = _mm512_mul_ps(dot(xi, 0), _mm512_set1_ps(x.scale[b0 * M + i]));
        sum = _mm512_fmadd_ps(dot(xi, 1), _mm512_set1_ps(x.scale[(b0 + 1) * M + i]), sum);
        out[i] = _mm512_fmadd_ps(sum, ws0, out[i]);
      }
    } else {
      const __m512 ws1 = _mm512_load_ps(ws + g1 * kLaneRows);
#pragma GCC unroll 8
      for (int i = 0; i < M; ++i) {
        const int8_t* xi = xs + 64 * i;
        const __m512 s0 = _mm512_mul_ps(ws0, _mm512_set1_ps(x.scale[b0 * M + i]));
        const __m512 s1 = _mm512_mul_ps(ws1, _mm512_set1_ps(x.scale[(b0 + 1) * M + i]));
        out[i] = _mm512_fmadd_ps(dot(xi, 1), s1, _mm512_fmadd_ps(dot(xi, 0), s0, out[i]));
      }
    }
    // The group biases, once per group: at the group's first block.
    auto add_biases = [&](int64_t g) {
      const __m512 wbv = _mm512_load_ps(wb + g * kLaneRows);
#pragma GCC unroll 8
      for (int i = 0; i < M; ++i) {
        out[i] = _mm512_fmadd_ps(wbv, _mm512_set1_ps(x.group_sum[g * M + i]), out[i]);
      }
    };
    if ((g0 << shift) == b0) add_biases(g0);
    if (g1 != g0) add_biases(g1);
  }
}

// B-bit rows [r0, r1) in tiles of 16 against all activation rows (LaneRowsApply).
template <int B, DType SD>
void LaneRows(const QuantizedActs& a, const WeightRef& w, const float* bias, float* y, int64_t r0,
              int64_t r1) {
  const int64_t nb = a.k / kActBlock, groups = a.k / a.group;
  const int64_t row_bytes = a.k * B / 8;
  const int shift = GroupShift(a);
  thread_local LaneActs acts;
  acts.build(a);
  thread_local AlignedVector<float> buf;
  thread_local AlignedVector<uint8_t> last_tile;
  buf.resize(static_cast<size_t>(2 * (groups + 1) * kLaneRows));  // + 1: a 16-bit pair's spare
  float* ws = buf.data();
  float* wb = ws + (groups + 1) * kLaneRows;
  const auto* data = static_cast<const uint8_t*>(w.data);
  for (int64_t r = r0; r < r1; r += kLaneRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kLaneRows, r1 - r));
    const uint8_t* codes = PaddedTile(data + r * row_bytes, rows, kLaneRows, row_bytes, last_tile);
    const uint8_t* next = r + 2 * kLaneRows <= r1 ? data + (r + kLaneRows) * row_bytes : nullptr;
    if (next != nullptr) {
      PrefetchRowValues<SD>(w.scales, r + kLaneRows, kLaneRows, groups);
      PrefetchRowValues<SD>(w.biases, r + kLaneRows, kLaneRows, groups);
    }
    LaneGroupValues<SD>(w.scales, r, rows, groups, ws);
    LaneGroupValues<SD>(w.biases, r, rows, groups, wb);
    const auto mask = static_cast<__mmask16>((1u << rows) - 1);
    const __m512 bv = bias != nullptr ? _mm512_maskz_loadu_ps(mask, bias + r) : _mm512_setzero_ps();
    LaneActs::for_each_tile(a.m, [&](int64_t i0, auto tile_rows) {
      constexpr int M = decltype(tile_rows)::value;
      __m512 out[M];
      LaneTile<B, M>(codes, row_bytes, acts.tile(i0, a.k, nb, groups), a.k, shift, ws, wb, next,
                     out);
      for (int i = 0; i < M; ++i) {
        _mm512_mask_storeu_ps(y + (i0 + i) * w.rows + r, mask, _mm512_add_ps(out[i], bv));
      }
    });
  }
}
#endif  // MLXLM_VNNI

}  // namespace mlxlm::kernels::HWY_NAMESPACE
#if HWY_TARGET == HWY_AVX3_DL
MLXLM_AVX512_VNNI_END
#endif
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
