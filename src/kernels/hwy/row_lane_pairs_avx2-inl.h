// 4-bit products of several activation rows on AVX2 without VNNI, two 8-row lane tiles of weight
// rows at a time, and the driver of every AVX2 lane product (LaneRows8). The 16 rows' codes are
// unpacked and transposed once for the whole row into a buffer, and each activation quad
// broadcast from memory then feeds both tiles' maddubs, while three activation rows' f32 sums
// stay in registers across the row. On Zen 3 both this loop and the 8-row tile's retire about 3.5
// instructions a cycle, so their count is what matters: per activation row and 8 weight rows (256
// multiply-adds) this loop spends 29 (4 broadcasts, 8 maddubs, 7 adds, 1.3 code loads, the f32
// scaling and the loop), the 8-row tile 35 (more broadcasts, its accumulators reloaded and
// stored). Included once per SIMD target by quant_matmul_hwy.cc.
#if defined(MLXLM_KERNELS_ROW_LANE_PAIRS_AVX2_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLXLM_KERNELS_ROW_LANE_PAIRS_AVX2_INL_H_
#undef MLXLM_KERNELS_ROW_LANE_PAIRS_AVX2_INL_H_
#else
#define MLXLM_KERNELS_ROW_LANE_PAIRS_AVX2_INL_H_
#endif

#include <algorithm>
#include <type_traits>
#include <utility>

#include <hwy/highway.h>

#include "base/aligned_vector.h"
#include "kernels/hwy/lane_acts-inl.h"
#include "kernels/hwy/quant_scales-inl.h"
#include "kernels/hwy/row_lanes_avx2-inl.h"
#include "kernels/hwy/x86_int8-inl.h"
#include "kernels/quant_acts.h"
#include "kernels/weight.h"

HWY_BEFORE_NAMESPACE();
namespace mlxlm::kernels::HWY_NAMESPACE {

#if MLXLM_X86_INT8 && !MLXLM_VNNI
// The 4-bit codes of 16 weight rows `stride` bytes apart over k columns, unpacked and transposed:
// buf[(b * 2 + t) * 8 + c] holds quad c of block b for rows 8t .. 8t + 7, one row per 32-bit lane
// (c < 4: the low nibbles, even values 4c .. 4c + 3 of the block; c >= 4: the high nibbles, the
// odd ones), as LaneTile8 unpacks them.
HWY_INLINE void UnpackTilePair(const uint8_t* codes, int64_t stride, int64_t k, __m256i* buf) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (int64_t s = 0; s < k / 64; ++s) {
    for (int e = 0; e < 2; ++e) {
      for (int t = 0; t < 2; ++t) {
        __m256i q[4];
        TransposeQuads(codes + t * kLaneRows8 * stride + s * 32 + 16 * e, stride, q);
        __m256i* out = buf + ((2 * s + e) * 2 + t) * 8;
        for (int c = 0; c < 4; ++c) {
          _mm256_store_si256(out + c, _mm256_and_si256(q[c], low4));
          _mm256_store_si256(out + 4 + c, _mm256_and_si256(_mm256_srli_epi16(q[c], 4), low4));
        }
      }
    }
  }
}

// p0 = maddubs(w0, q) (kFirst) or p0 + maddubs(w0, q), and p1 likewise with w1, for the
// activation quad at x broadcast to every lane (q). Written as asm: g++ 12 reloaded each code
// vector once per use and copied the sums between registers around every quad (40 instructions
// per activation row and 8 weight rows instead of 33 with two rows).
template <bool kFirst>
HWY_INLINE void QuadRow(__m256i w0, __m256i w1, const int8_t* x, __m256i& p0, __m256i& p1) {
  struct Quad {
    int32_t v;
  };
  const Quad& q = *reinterpret_cast<const Quad*>(x);
  __m256i xq, t;
  if constexpr (kFirst) {
    asm("vpbroadcastd %[q], %[xq]\n\t"
        "vpmaddubsw %[xq], %[w0], %[p0]\n\t"
        "vpmaddubsw %[xq], %[w1], %[p1]"
        : [p0] "=&x"(p0), [p1] "=&x"(p1), [xq] "=&x"(xq)
        : [w0] "x"(w0), [w1] "x"(w1), [q] "m"(q));
  } else {
    asm("vpbroadcastd %[q], %[xq]\n\t"
        "vpmaddubsw %[xq], %[w0], %[t]\n\t"
        "vpaddw %[t], %[p0], %[p0]\n\t"
        "vpmaddubsw %[xq], %[w1], %[t]\n\t"
        "vpaddw %[t], %[p1], %[p1]"
        : [p0] "+x"(p0), [p1] "+x"(p1), [xq] "=&x"(xq), [t] "=&x"(t)
        : [w0] "x"(w0), [w1] "x"(w1), [q] "m"(q));
  }
}

// out[2r + t] = the products of activation rows i0 + r (r < R) of tile x (M rows) with weight
// tile t of the unpacked pair `buf`, whose per-group scales and bias coefficients are ws[t] and
// wb[t] ([groups][8]). Per block the same int16 sums, f32 steps and order as LaneTile8, then the
// bias terms as AddLaneBiasTerms adds them, so that a row's result is the 8-row tile's, bit for
// bit, and does not depend on which of the two takes it. `next`: the next pair's codes, to
// prefetch across the row (null: none).
template <int M, int R>
HWY_INLINE void LanePairRows(const __m256i* buf, const ActTile& x, int i0, int64_t k, int shift,
                             const float* const* ws, const float* const* wb, const uint8_t* next,
                             __m256* out) {
  const int64_t nb = k / kActBlock;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const int8_t* xb = x.q + (b / 2) * 64 * M + 64 * i0 + 16 * (b % 2);
    const __m256i* wq = buf + b * 16;
    PrefetchNextTile(next, b, 4);
    // Scalars, not an array: g++ keeps an array that asm operands name in memory.
    __m256i p00 = _mm256_setzero_si256(), p01 = p00, p10 = p00, p11 = p00, p20 = p00, p21 = p00;
    auto quad_rows = [&](auto first, __m256i w0, __m256i w1, const int8_t* q) {
      constexpr bool kFirst = decltype(first)::value;
      QuadRow<kFirst>(w0, w1, q, p00, p01);
      if constexpr (R >= 2) QuadRow<kFirst>(w0, w1, q + 64, p10, p11);
      if constexpr (R >= 3) QuadRow<kFirst>(w0, w1, q + 128, p20, p21);
    };
#pragma GCC unroll 8
    for (int c = 0; c < 8; ++c) {
      const int quad = c < 4 ? 4 * c : 32 + 4 * (c - 4);
      const __m256i w0 = _mm256_load_si256(wq + c), w1 = _mm256_load_si256(wq + 8 + c);
      if (c == 0) {
        quad_rows(std::true_type(), w0, w1, xb + quad);
      } else {
        quad_rows(std::false_type(), w0, w1, xb + quad);
      }
    }
    const __m256i p[3][2] = {{p00, p01}, {p10, p11}, {p20, p21}};
    const __m256 ws0 = _mm256_loadu_ps(ws[0] + (b >> shift) * kLaneRows8);
    const __m256 ws1 = _mm256_loadu_ps(ws[1] + (b >> shift) * kLaneRows8);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 xs = _mm256_set1_ps(x.scale[b * M + i0 + r]);
      acc[r][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p[r][0], ones)),
                                  _mm256_mul_ps(ws0, xs), acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p[r][1], ones)),
                                  _mm256_mul_ps(ws1, xs), acc[r][1]);
    }
  }
  for (int64_t g = 0; g < nb >> shift; ++g) {
    for (int t = 0; t < 2; ++t) {
      const __m256 wbv = _mm256_loadu_ps(wb[t] + g * kLaneRows8);
      for (int r = 0; r < R; ++r) {
        acc[r][t] = _mm256_fmadd_ps(wbv, _mm256_set1_ps(x.group_sum[g * M + i0 + r]), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    out[2 * r] = acc[r][0];
    out[2 * r + 1] = acc[r][1];
  }
}

// Activation rows per pass over an unpacked pair: their 6 f32 and 6 int16 sums and the step's 4
// temporaries fill the 16 vector registers. Two rows a pass spend 33 instructions per 256
// multiply-adds (BM_QuantRowsInL2/4/64/2048: 87-93 against 89-93 G/s with three).
constexpr int kPairRows = 3;

// Weight rows [r, r + 16) of a 4-bit product against activation rows [s0, s1) (whole activation
// tiles): the pair unpacked once, then each tile's rows kPairRows at a time (the last 2 or 1
// together).
template <DType SD>
HWY_INLINE void LanePairTile(const QuantizedActs& a, const LaneActs& acts, const WeightRef& w,
                             const float* bias, float* y, int64_t r, int64_t s0, int64_t s1,
                             const uint8_t* next) {
  const int64_t nb = a.k / kActBlock, groups = a.k / a.group;
  const int64_t row_bytes = a.k / 2;
  const int shift = GroupShift(a);
  thread_local AlignedVector<float> values;
  thread_local AlignedVector<__m256i> codes;
  values.resize(static_cast<size_t>(4 * groups * kLaneRows8));
  codes.resize(static_cast<size_t>(nb * 16));
  const float* ws[2];
  const float* wb[2];
  for (int t = 0; t < 2; ++t) {
    float* s = values.data() + 2 * t * groups * kLaneRows8;
    float* c = s + groups * kLaneRows8;
    LaneGroupValues8<SD>(w.scales, r + t * kLaneRows8, kLaneRows8, groups, s);
    LaneGroupValues8<SD>(w.biases, r + t * kLaneRows8, kLaneRows8, groups, c);
    FoldShiftedCodes<4>(s, groups * kLaneRows8, c);
    ws[t] = s;
    wb[t] = c;
  }
  if (next != nullptr) {
    PrefetchRowValues<SD>(w.scales, r + 2 * kLaneRows8, 2 * kLaneRows8, groups);
    PrefetchRowValues<SD>(w.biases, r + 2 * kLaneRows8, 2 * kLaneRows8, groups);
  }
  const auto* data = static_cast<const uint8_t*>(w.data);
  UnpackTilePair(data + r * row_bytes, row_bytes, a.k, codes.data());
  auto store = [&](int64_t i, int n, const __m256* out) {
    for (int u = 0; u < 2 * n; ++u) {
      const int64_t row = r + (u % 2) * kLaneRows8;
      StoreLaneRows(out[u], kLaneRows8, bias != nullptr ? bias + row : nullptr,
                    y + (i + u / 2) * w.rows + row);
    }
  };
  // The first pass over the row prefetches the next pair into L2, spread over its blocks: the
  // unpacking alone is too short to hide a batched decoding step's stream from DRAM.
  auto prefetch = [&] { return std::exchange(next, nullptr); };
  LaneActs::for_each_tile(a.m, [&](int64_t i0, auto tile_rows) {
    if (i0 < s0 || i0 >= s1) return;
    constexpr int M = decltype(tile_rows)::value;
    const ActTile tile = acts.tile(i0, a.k, nb, groups);
    int i = 0;
    for (; i + kPairRows <= M; i += kPairRows) {
      __m256 out[2 * kPairRows];
      LanePairRows<M, kPairRows>(codes.data(), tile, i, a.k, shift, ws, wb, prefetch(), out);
      store(i0 + i, kPairRows, out);
    }
    if (M - i >= 2) {
      __m256 out[4];
      LanePairRows<M, 2>(codes.data(), tile, i, a.k, shift, ws, wb, prefetch(), out);
      store(i0 + i, 2, out);
      i += 2;
    }
    if (i < M) {
      __m256 out[2];
      LanePairRows<M, 1>(codes.data(), tile, i, a.k, shift, ws, wb, prefetch(), out);
      store(i0 + i, 1, out);
    }
  });
}

// 4- or 8-bit rows [r0, r1) in lanes against all activation rows (LaneRowsApply), in slices of
// activation rows that stay in L2 while the weight rows stream past once per slice: 4-bit rows in
// pairs of 8-row tiles (LanePairTile) while 16 are left, the rest in tiles of 8.
template <int F, DType SD>
void LaneRows8(const QuantizedActs& a, const WeightRef& w, const float* bias, float* y, int64_t r0,
               int64_t r1) {
  const int64_t nb = a.k / kActBlock, groups = a.k / a.group;
  const int64_t row_bytes = a.k * F / 8;
  const int shift = GroupShift(a);
  thread_local LaneActs acts;
  acts.build(a);
  thread_local AlignedVector<float> buf;
  thread_local AlignedVector<uint8_t> last_tile;
  buf.resize(static_cast<size_t>(2 * groups * kLaneRows8));
  float* ws = buf.data();
  float* wb = ws + groups * kLaneRows8;
  const auto* data = static_cast<const uint8_t*>(w.data);
  const int64_t slice = std::max<int64_t>(8, ((256 << 10) / a.k) & ~int64_t{7});
  for (int64_t s0 = 0; s0 < a.m; s0 += slice) {
    const int64_t s1 = std::min(a.m, s0 + slice);
    int64_t r = r0;
    if constexpr (F == 4) {
      for (; r + 2 * kLaneRows8 <= r1; r += 2 * kLaneRows8) {
        const uint8_t* next =
            r + 4 * kLaneRows8 <= r1 ? data + (r + 2 * kLaneRows8) * row_bytes : nullptr;
        LanePairTile<SD>(a, acts, w, bias, y, r, s0, s1, next);
      }
    }
    for (; r < r1; r += kLaneRows8) {
      const int rows = static_cast<int>(std::min<int64_t>(kLaneRows8, r1 - r));
      const uint8_t* codes =
          PaddedTile(data + r * row_bytes, rows, kLaneRows8, row_bytes, last_tile);
      LaneGroupValues8<SD>(w.scales, r, rows, groups, ws);
      LaneGroupValues8<SD>(w.biases, r, rows, groups, wb);
      FoldShiftedCodes<F>(ws, groups * kLaneRows8, wb);
      const uint8_t* next =
          r + 2 * kLaneRows8 <= r1 ? data + (r + kLaneRows8) * row_bytes : nullptr;
      if (next != nullptr) {
        PrefetchRowValues<SD>(w.scales, r + kLaneRows8, kLaneRows8, groups);
        PrefetchRowValues<SD>(w.biases, r + kLaneRows8, kLaneRows8, groups);
      }
      auto store = [&](int64_t i0, int n, const __m256* out) {
        for (int i = 0; i < n; ++i) {
          StoreLaneRows(out[i], rows, bias != nullptr ? bias + r : nullptr,
                        y + (i0 + i) * w.rows + r);
        }
      };
      // Two tiles of 8 activation rows share each transpose of the weight codes.
      const int64_t pairs_end = s0 + (std::min(s1, a.m / 8 * 8) - s0) / 16 * 16;
      for (int64_t i0 = s0; i0 < pairs_end; i0 += 16) {
        const ActTile pair[2] = {acts.tile(i0, a.k, nb, groups),
                                 acts.tile(i0 + 8, a.k, nb, groups)};
        __m256 out[16];
        LaneTile8Of<F, 8, 2>(codes, row_bytes, pair, a.k, shift, ws, wb, next, out);
        store(i0, 16, out);
      }
      LaneActs::for_each_tile(a.m, [&](int64_t i0, auto tile_rows) {
        if (i0 < pairs_end || i0 >= s1) return;
        constexpr int M = decltype(tile_rows)::value;
        const ActTile tile = acts.tile(i0, a.k, nb, groups);
        __m256 out[M];
        LaneTile8Of<F, M>(codes, row_bytes, &tile, a.k, shift, ws, wb, next, out);
        store(i0, M, out);
      });
    }
  }
}
#endif  // MLXLM_X86_INT8 && !MLXLM_VNNI

}  // namespace mlxlm::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
