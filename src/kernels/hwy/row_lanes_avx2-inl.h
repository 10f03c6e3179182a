// 4- and 8-bit products of several activation rows (batched decoding, prefill) on AVX2 without
// VNNI, with each weight row in a 32-bit lane of its own: 8 weight rows are transposed per
// 32-value block so that a vector holds four codes of each row, and each `vpmaddubsw` multiplies
// it with one activation quad broadcast from memory. With 4-bit codes, because a lane belongs to
// one row, the eight int16 pair sums of a block add up in int16 (at most 8 * 2 * 15 * 128 =
// 30720) before one `vpmaddwd` widens them, and one convert and FMA scale 8 rows at once. On
// Zen 3 maddubs and maddwd share two pipes, and mul/FMA and convert each share one of them (8
// maddubs next to 8 of either take 5.5-6 cycles, where separate pipes would take 4 and shared
// ones 8): the row-pair tiles spend 9 such ops per 128 multiply-adds, this one 6 (8-bit codes:
// 9.5, LaneTile8Bytes). 4-bit rows go two tiles at a time where they can, and the driver LaneRows8
// lives with that kernel (row_lane_pairs_avx2-inl.h). Included once per SIMD target by
// quant_matmul_hwy.cc.
#if defined(MLXLM_KERNELS_ROW_LANES_AVX2_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLXLM_KERNELS_ROW_LANES_AVX2_INL_H_
#undef MLXLM_KERNELS_ROW_LANES_AVX2_INL_H_
#else
#define MLXLM_KERNELS_ROW_LANES_AVX2_INL_H_
#endif

#include <algorithm>
#include <cstring>

#include <hwy/highway.h>

#include "base/aligned_vector.h"
#include "kernels/hwy/lane_acts-inl.h"
#include "kernels/hwy/quant_scales-inl.h"
#include "kernels/hwy/x86_int8-inl.h"
#include "kernels/quant_acts.h"
#include "kernels/weight.h"

HWY_BEFORE_NAMESPACE();
namespace mlxlm::kernels::HWY_NAMESPACE {

#if MLXLM_X86_INT8 && !MLXLM_VNNI
constexpr int kLaneRows8 = 8;

// Dwords c0 .. c0 + 3 of 8 rows `stride` bytes apart, transposed: t[c] holds dword c0 + c of
// row l in lane l.
HWY_INLINE void TransposeQuads(const uint8_t* rows, int64_t stride, __m256i* t) {
  __m256i v[4], u[4];
  for (int j = 0; j < 4; ++j) {
    const auto* lo = reinterpret_cast<const __m128i*>(rows + j * stride);
    const auto* hi = reinterpret_cast<const __m128i*>(rows + (j + 4) * stride);
    v[j] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(lo)), _mm_loadu_si128(hi),
                                   1);
  }
  // v[j]: row j in the low 128-bit lane, row j + 4 in the high one.
  u[0] = _mm256_unpacklo_epi32(v[0], v[1]);
  u[1] = _mm256_unpackhi_epi32(v[0], v[1]);
  u[2] = _mm256_unpacklo_epi32(v[2], v[3]);
  u[3] = _mm256_unpackhi_epi32(v[2], v[3]);
  t[0] = _mm256_unpacklo_epi64(u[0], u[2]);
  t[1] = _mm256_unpackhi_epi64(u[0], u[2]);
  t[2] = _mm256_unpacklo_epi64(u[1], u[3]);
  t[3] = _mm256_unpackhi_epi64(u[1], u[3]);
}

// The per-group values (scales or biases, F32/F16/BF16) of rows [r, r + rows) as f32,
// transposed to dst[group][8] (a last partial tile repeats its last row): 16 bytes of each row
// at a time, transposed as dwords, for a whole tile; one value at a time otherwise.
template <DType SD>
HWY_INLINE void LaneGroupValues8(const void* src, int64_t r, int rows, int64_t groups, float* dst) {
  constexpr int64_t kBytes = kScaleBytes<SD>;
  constexpr int64_t kChunk = 16 / kBytes;  // values per row and transpose
  const auto* base = static_cast<const uint8_t*>(src) + r * groups * kBytes;
  int64_t g0 = 0;
  for (; rows == kLaneRows8 && g0 + kChunk <= groups; g0 += kChunk) {
    __m256i t[4];
    TransposeQuads(base + g0 * kBytes, groups * kBytes, t);
    for (int c = 0; c < 4; ++c) {
      float* out = dst + (g0 + c * (4 / kBytes)) * kLaneRows8;
      if constexpr (SD == DType::F32) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), t[c]);
      } else if constexpr (SD == DType::BF16) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_slli_epi32(t[c], 16));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + kLaneRows8),
                            _mm256_and_si256(t[c], _mm256_set1_epi32(-65536)));
      } else {
        // Each lane's two halves to 8 packed f16 values per 128-bit lane pair, then widened.
        const __m256i pick = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15,
                                              0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
        const __m256i h = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(t[c], pick), 0xD8);
        _mm256_storeu_ps(out, _mm256_cvtph_ps(_mm256_castsi256_si128(h)));
        _mm256_storeu_ps(out + kLaneRows8, _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1)));
      }
    }
  }
  for (; g0 < groups; ++g0) {
    for (int l = 0; l < kLaneRows8; ++l) {
      dst[g0 * kLaneRows8 + l] = ScaleAt<SD>(src, (r + std::min(l, rows - 1)) * groups + g0);
    }
  }
}

// An activation quad broadcast to every lane.
HWY_INLINE __m256i BroadcastQuad(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// The 4 activation quads at p .. p + 15, each broadcast to every lane. kShuffle: one 16-byte
// broadcast and 4 in-lane shuffles instead of 4 dword broadcasts, trading loads for shuffles on
// pipes of their own. That pays where loads are short: with 16 activation rows a tile spills its
// weight vectors and accumulators, and reloads them per row (session 21 of docs/benchmarks.md).
template <bool kShuffle>
HWY_INLINE void BroadcastQuads(const int8_t* p, __m256i* x) {
  if constexpr (kShuffle) {
    const __m256i v =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    x[0] = _mm256_shuffle_epi32(v, 0x00);
    x[1] = _mm256_shuffle_epi32(v, 0x55);
    x[2] = _mm256_shuffle_epi32(v, 0xAA);
    x[3] = _mm256_shuffle_epi32(v, 0xFF);
  } else {
    for (int c = 0; c < 4; ++c) x[c] = BroadcastQuad(p + 4 * c);
  }
}

// Lanes [0, rows) of v, one weight row each, plus those rows' bias (`bias` at the first; null:
// none) into y.
HWY_INLINE void StoreLaneRows(__m256 v, int rows, const float* bias, float* y) {
  alignas(32) float lanes[kLaneRows8];
  _mm256_store_ps(lanes, v);
  for (int l = 0; l < rows; ++l) y[l] = lanes[l] + (bias != nullptr ? bias[l] : 0.0f);
}

// The lines of the next tile's codes (null: none) that step s of this one reads: `lines` 64-byte
// lines per step.
HWY_INLINE void PrefetchNextTile(const uint8_t* next, int64_t s, int lines) {
  if (next == nullptr) return;
  for (int j = 0; j < lines; ++j) {
    _mm_prefetch(reinterpret_cast<const char*>(next + (s * lines + j) * 64), _MM_HINT_T1);
  }
}

// out[u] += sum over groups of wb_g * group_sum_g(u), for the activation rows of `tiles`.
template <int M, int T>
HWY_INLINE void AddLaneBiasTerms(const ActTile* tiles, int64_t k, int shift, const float* wb,
                                 __m256* out) {
  for (int64_t g = 0; g < (k / kActBlock) >> shift; ++g) {
    const __m256 wbv = _mm256_loadu_ps(wb + g * kLaneRows8);
#pragma GCC unroll 16
    for (int u = 0; u < M * T; ++u) {
      out[u] = _mm256_fmadd_ps(wbv, _mm256_set1_ps(tiles[u / M].group_sum[g * M + u % M]), out[u]);
    }
  }
}

// out[u][l] = row l's product with activation row u of `tiles` (T tiles of M rows), with
// 4-bit codes: per block the eight maddubs of each row land in its lane and add up in int16, and
// the f32 scaling is done once per block and activation row. `codes` holds 8 rows `stride` bytes
// apart; `ws` / `wb` are their scales and biases per group ([groups][8]); `next` the codes to
// prefetch (the next tile) or null.
template <int M, int T = 1>
HWY_INLINE void LaneTile8(const uint8_t* codes, int64_t stride, const ActTile* tiles, int64_t k,
                          int shift, const float* ws, const float* wb, const uint8_t* next,
                          __m256* out) {
  for (int i = 0; i < M * T; ++i) out[i] = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t s = 0; s < k / 64; ++s) {
    PrefetchNextTile(next, s, 4);
    for (int e = 0; e < 2; ++e) {
      // Dword c of a block's 16 bytes holds its codes 8c .. 8c + 7: the low nibbles are the
      // even values 4c .. 4c + 3 (CodeOrder::Nibbles stores the pair's even values of block e
      // at 16e, its odd values 32 further), the high nibbles the odd ones.
      __m256i t[4], w[8];
      TransposeQuads(codes + s * 32 + 16 * e, stride, t);
      for (int c = 0; c < 4; ++c) {
        w[c] = _mm256_and_si256(t[c], low4);
        w[4 + c] = _mm256_and_si256(_mm256_srli_epi16(t[c], 4), low4);
      }
      const int64_t b = 2 * s + e;
      const __m256 wsv = _mm256_loadu_ps(ws + (b >> shift) * kLaneRows8);
#pragma GCC unroll 16
      for (int u = 0; u < M * T; ++u) {
        const ActTile& x = tiles[u / M];
        const int i = u % M;
        const int8_t* xi = x.q + s * 64 * M + 64 * i + 16 * e;
        // Shuffling all 8 quads was slower; shuffling with 8 activation rows no faster.
        __m256i xq[8];
        BroadcastQuads<(T == 2)>(xi, xq);
        BroadcastQuads<false>(xi + 32, xq + 4);
        __m256i p = _mm256_maddubs_epi16(w[0], xq[0]);
        p = _mm256_add_epi16(p, _mm256_maddubs_epi16(w[4], xq[4]));
#pragma GCC unroll 3
        for (int c = 1; c < 4; ++c) {
          p = _mm256_add_epi16(p, _mm256_maddubs_epi16(w[c], xq[c]));
          p = _mm256_add_epi16(p, _mm256_maddubs_epi16(w[4 + c], xq[4 + c]));
        }
        const __m256 d = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
        out[u] = _mm256_fmadd_ps(d, _mm256_mul_ps(wsv, _mm256_set1_ps(x.scale[b * M + i])), out[u]);
      }
    }
  }
  AddLaneBiasTerms<M, T>(tiles, k, shift, wb, out);
}

// The int32 products of G activation rows (xi, xi + 64, ..., 1, 4 or 8 of them) with a block's 8
// quads of 8-bit codes w (shifted to signed) and their magnitudes mag, as LaneTile8Bytes takes
// them: quads outer, rows inner, so that each quad's two vectors are loaded once for all rows and
// the sums stay in registers.
template <int G>
HWY_INLINE void QuadDots(const __m256i* w, const __m256i* mag, const int8_t* xi, __m256i* sums) {
  static_assert(G == 1 || G == 4 || G == 8);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i p0 = _mm256_setzero_si256(), p1 = p0, p2 = p0, p3 = p0, p4 = p0, p5 = p0, p6 = p0,
          p7 = p0;
#pragma GCC unroll 8
  for (int c = 0; c < 8; ++c) {
    const __m256i wc = _mm256_load_si256(w + c), mc = _mm256_load_si256(mag + c);
    auto add_dot = [&](__m256i& sum, int row) {
      const __m256i x = _mm256_sign_epi8(BroadcastQuad(xi + 64 * row + 4 * c), wc);
      sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(mc, x), ones));
    };
    add_dot(p0, 0);
    if constexpr (G >= 4) {
      add_dot(p1, 1);
      add_dot(p2, 2);
      add_dot(p3, 3);
    }
    if constexpr (G == 8) {
      add_dot(p4, 4);
      add_dot(p5, 5);
      add_dot(p6, 6);
      add_dot(p7, 7);
    }
    // Each quad's sums complete before the next quad: left free, the compiler reassociates the
    // additions to the end and holds every product at once, on the stack.
    if constexpr (G == 8) {
      asm("" : "+x"(p0), "+x"(p1), "+x"(p2), "+x"(p3), "+x"(p4), "+x"(p5), "+x"(p6), "+x"(p7));
    } else if constexpr (G == 4) {
      asm("" : "+x"(p0), "+x"(p1), "+x"(p2), "+x"(p3));
    } else {
      asm("" : "+x"(p0));
    }
  }
  const __m256i all[8] = {p0, p1, p2, p3, p4, p5, p6, p7};
  for (int j = 0; j < G; ++j) sums[j] = all[j];
}

// LaneTile8 for 8-bit codes. maddubs needs an unsigned operand, and 255 * 127 twice overflows its
// int16 pair sums, so each code q is taken as w = q - 128 (q ^ 0x80 read as int8): maddubs
// multiplies |w| by the activation quad given w's sign (vpsignb), at most 2 * 128 * 127 = 32512.
// A second pair sum would overflow, so each maddubs has its own maddwd; the 128 * sum(x) the
// shift leaves out joins the bias (FoldShiftedCodes). Per activation row and block: 8 maddubs and 8
// maddwd on the two multiply pipes; the signs run beside them on the others.
template <int M, int T = 1>
HWY_INLINE void LaneTile8Bytes(const uint8_t* codes, int64_t stride, const ActTile* tiles,
                               int64_t k, int shift, const float* ws, const float* wb,
                               const uint8_t* next, __m256* out) {
  // The accumulators stay in memory (one load and store per row and block), leaving the
  // registers to the 8 rows' integer sums.
  asm("" : "+r"(out));
  for (int i = 0; i < M * T; ++i) out[i] = _mm256_setzero_ps();
  const __m256i flip = _mm256_set1_epi8(-128);
  for (int64_t s = 0; s < k / 64; ++s) {
    PrefetchNextTile(next, s, 8);
    for (int e = 0; e < 2; ++e) {
      // w[c]: codes 4c .. 4c + 3 of the block, one row per lane, shifted to signed; mag[c]
      // their magnitudes.
      alignas(32) __m256i quads[16];
      TransposeQuads(codes + s * 64 + 32 * e, stride, quads);
      TransposeQuads(codes + s * 64 + 32 * e + 16, stride, quads + 4);
      for (int c = 0; c < 8; ++c) {
        quads[c] = _mm256_xor_si256(quads[c], flip);
        quads[8 + c] = _mm256_abs_epi8(quads[c]);  // -128 stays 0x80: 128 as maddubs reads it
      }
      // Read back through a pointer the compiler cannot see through, so that each quad is
      // loaded where it is used instead of 16 vectors held across the tile's rows.
      const __m256i* w = quads;
      asm("" : "+r"(w) : "m"(quads));
      const __m256i* mag = w + 8;
      const int64_t b = 2 * s + e;
      const __m256 wsv = _mm256_loadu_ps(ws + (b >> shift) * kLaneRows8);
      constexpr int kGroup = std::min(8, M * T);  // one tile: M is 8, 4 or 1
      for (int u0 = 0; u0 < M * T; u0 += kGroup) {
        const ActTile& x = tiles[u0 / M];
        const int i0 = u0 % M;
        __m256i p[kGroup];
        QuadDots<kGroup>(w, mag, x.q + s * 64 * M + 64 * i0 + 32 * e, p);
        for (int j = 0; j < kGroup; ++j) {
          const float xs = x.scale[b * M + i0 + j];
          out[u0 + j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p[j]),
                                        _mm256_mul_ps(wsv, _mm256_set1_ps(xs)), out[u0 + j]);
        }
      }
    }
  }
  AddLaneBiasTerms<M, T>(tiles, k, shift, wb, out);
}

// The tile kernel of F-bit codes.
template <int F, int M, int T = 1>
HWY_INLINE void LaneTile8Of(const uint8_t* codes, int64_t stride, const ActTile* tiles, int64_t k,
                            int shift, const float* ws, const float* wb, const uint8_t* next,
                            __m256* out) {
  if constexpr (F == 4) {
    LaneTile8<M, T>(codes, stride, tiles, k, shift, ws, wb, next, out);
  } else {
    LaneTile8Bytes<M, T>(codes, stride, tiles, k, shift, ws, wb, next, out);
  }
}

#endif  // MLXLM_X86_INT8 && !MLXLM_VNNI

}  // namespace mlxlm::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
