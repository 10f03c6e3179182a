// y = x · Wᵀ for mlx affine (2-8 bits) and mxfp4 weights against int8-quantized activations.
//
// For output row r, activation row i, weight group g and activation block b (32 values):
//   y = sum_b scale_g * xscale_b * sum(q_w * q_x)  +  sum_g bias_g * sum_{j in g} x_j
// The first sum runs on integer dot products (AVX2 maddubs, AVX-512 VNNI dpbusd); the second
// uses per-group activation sums computed once per call (QuantizedActs::group_sum), and is
// accumulated with the first, so that a tile reduces each output once.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/hwy/avx512_vnni.h"
#include "kernels/hwy/dispatch.h"
#include "kernels/hwy/scalar_load.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/hwy/quant_matmul_hwy.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "kernels/hwy/quant_codes.h"
#include "kernels/hwy/quant_scales-inl.h"
#include "kernels/hwy/row_lane_pairs_avx2-inl.h"
#include "kernels/hwy/row_lanes-inl.h"
#include "kernels/hwy/row_lanes_avx2-inl.h"
#include "kernels/hwy/single_rows-inl.h"
#include "kernels/hwy/x86_int8-inl.h"

HWY_BEFORE_NAMESPACE();
#if HWY_TARGET == HWY_AVX3_DL
MLXLM_AVX512_VNNI_BEGIN
#endif
namespace mlxlm::kernels::HWY_NAMESPACE {
namespace q = qdetail;

// Everything a tile needs to know about the weight rows and the activations.
// Tiles are pairs of weight rows.
struct TileArgs {
  const uint8_t* const* codes;  // per tile row: its packed (or unpacked) codes
  const QuantizedActs* a;
  int64_t i0;          // first activation row of the tile
  int group_shift;     // log2(blocks per group)
  const float* wpair;  // the two rows' scales as f32, interleaved: [groups][2]
  const float* bpair;  // the two rows' bias coefficients likewise (unused without biases)
};

#if MLXLM_X86_INT8
// out[r * M + i] = sum over blocks of scale_g(r) * xscale_b(i) * dot(codes_r, xq_i) plus the
// bias term, for a pair of weight rows. The two rows' int32 partial sums are folded into one vector
// (even lanes row 0, odd lanes row 1) before conversion, which halves the conversions, scale
// products and FMAs: on AVX2 those compete with maddubs for the multiply ports and bound the loop.
template <int F, DType SD, int R, int M>
HWY_INLINE void QuantTile(const TileArgs& t, float* out) {
  static_assert(R == 2, "tiles are row pairs");
  constexpr bool kSigned = F == q::kFmtFp4 || (F == 8 && kShift8);
  constexpr bool kNibbles = F == 4 || F == q::kFmtFp4;
  constexpr int64_t kStride = q::block_bytes(F);
  const QuantizedActs& a = *t.a;
  const int64_t nb = a.k / kActBlock;
  __m256 acc[M];
  const int8_t* xq[M];
  const float* xs[M];
  for (int i = 0; i < M; ++i) {
    acc[i] = _mm256_setzero_ps();
    xq[i] = a.q + (t.i0 + i) * a.k;
    xs[i] = a.scale + (t.i0 + i) * nb;
  }
  // (scale row 0, scale row 1) of group g, repeated over a 128-bit lane.
  auto scale_pair = [&](int64_t g) {
    return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(t.wpair + 2 * g));
  };
  int64_t b = 0;
  if constexpr (kNibbles) {
    // Two blocks per step: 32 code bytes split into low and high nibbles give the even and the
    // odd values of both blocks, one block per 128-bit lane, which is how the activations of a
    // block pair are laid out (CodeOrder::Nibbles).
#if MLXLM_VNNI
    if constexpr (F == 4) {
      if (t.group_shift <= 2 && nb >= 4) {
        const Nibble512 k(t.group_shift);
        __m512 wide[M];
        for (int i = 0; i < M; ++i) wide[i] = _mm512_setzero_ps();
        for (; b + 4 <= nb; b += 4) {
          NibbleQuad<M>(t.codes[0], t.codes[1], xq, xs, b, t.wpair, t.group_shift, k, wide);
        }
        for (int i = 0; i < M; ++i) {
          acc[i] = _mm256_add_ps(acc[i], _mm256_add_ps(_mm512_castps512_ps256(wide[i]),
                                                       _mm512_extractf32x8_ps(wide[i], 1)));
        }
      }
    }
#endif
    const __m256i lane_of_block = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    const __m256i m = _mm256_set1_epi8(0x0F);
    for (; b + 2 <= nb; b += 2) {
      const int64_t g0 = b >> t.group_shift, g1 = (b + 1) >> t.group_shift;
      const __m128i w0 = scale_pair(g0);
      __m256 ws = _mm256_castsi256_ps(_mm256_broadcastq_epi64(w0));
      if (g1 != g0) {
        const __m128i w1 = scale_pair(g1);
        ws = _mm256_castsi256_ps(
            _mm256_set_m128i(_mm_unpacklo_epi64(w1, w1), _mm_unpacklo_epi64(w0, w0)));
      }
      __m256i lo[2], hi[2], ulo[2], uhi[2];
      for (int r = 0; r < 2; ++r) {
        const uint8_t* cp = t.codes[r] + b * kStride;
        _mm_prefetch(reinterpret_cast<const char*>(cp + kPrefetchBytes), _MM_HINT_T0);
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cp));
        lo[r] = _mm256_and_si256(v, m);
        hi[r] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
        ulo[r] = lo[r];
        uhi[r] = hi[r];
        if constexpr (F == q::kFmtFp4) {
          lo[r] = Fp4Values(lo[r]);
          hi[r] = Fp4Values(hi[r]);
          ulo[r] = _mm256_abs_epi8(lo[r]);
          uhi[r] = _mm256_abs_epi8(hi[r]);
        }
      }
      for (int i = 0; i < M; ++i) {
        // Two consecutive block scales; loadl_epi64 is an unaligned load (load_sd is not).
        const __m128 two =
            _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(xs[i] + b)));
        const __m256 xsv = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(two), lane_of_block);
        const __m256i xe = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[i] + b * 32));
        const __m256i xo =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[i] + b * 32 + 32));
        const __m256i p0 = DotPair<kSigned>(ulo[0], lo[0], xe, uhi[0], hi[0], xo);
        const __m256i p1 = DotPair<kSigned>(ulo[1], lo[1], xe, uhi[1], hi[1], xo);
        acc[i] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(FoldRows(p0, p1)), _mm256_mul_ps(xsv, ws), acc[i]);
      }
    }
  }
  for (; b < nb; ++b) {
    const __m256 ws = _mm256_castsi256_ps(_mm256_broadcastq_epi64(scale_pair(b >> t.group_shift)));
    __m256i w[2], wu[2];
    for (int r = 0; r < 2; ++r) {
      _mm_prefetch(reinterpret_cast<const char*>(t.codes[r] + b * kStride + kPrefetchBytes),
                   _MM_HINT_T0);
      w[r] = Unpack<F>(t.codes[r] + b * kStride);
      if constexpr (F == q::kFmtFp4) w[r] = Fp4Values(w[r]);
      wu[r] = kSigned ? _mm256_abs_epi8(w[r]) : w[r];
    }
    for (int i = 0; i < M; ++i) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[i] + b * 32));
      const __m256i p0 = DotBlock<kSigned>(wu[0], w[0], xv);
      const __m256i p1 = DotBlock<kSigned>(wu[1], w[1], xv);
      acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(FoldRows(p0, p1)),
                               _mm256_mul_ps(ws, _mm256_set1_ps(xs[i][b])), acc[i]);
    }
  }
  for (int i = 0; i < M; ++i) {
    float tail[2] = {0.0f, 0.0f};
    if constexpr (kHasBias<F>) {
      const int64_t groups = a.k / a.group;
      const float* gs = a.group_sum_pairs + (t.i0 + i) * 2 * groups;
      acc[i] = _mm256_add_ps(acc[i], PairBiasTerm(t.bpair, gs, groups, tail));
    }
    HSumEvenOdd(acc[i], out[i], out[M + i]);
    out[i] += tail[0];
    out[M + i] += tail[1];
  }
}
#else
// Portable version (SSE4, NEON, scalar targets): the same arithmetic one code at a time.
template <int F, DType SD, int R, int M>
HWY_INLINE void QuantTile(const TileArgs& t, float* out) {
  constexpr int64_t kStride = q::block_bytes(F);
  static_assert(R == 2, "tiles are row pairs");
  const QuantizedActs& a = *t.a;
  const int64_t nb = a.k / kActBlock;
  float acc[R][M] = {};
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t g = b >> t.group_shift;
    int codes[R][kActBlock];
    float ws[R];
    for (int r = 0; r < R; ++r) {
      ws[r] = t.wpair[2 * g + r];
      for (int p = 0; p < kActBlock; ++p)
        codes[r][p] = q::scalar_code<F>(t.codes[r] + b * kStride, p);
    }
    constexpr CodeOrder kOrder = (F == 4 || F == q::kFmtFp4) ? CodeOrder::Nibbles
                                 : F == 2                    ? CodeOrder::Crumbs
                                                             : CodeOrder::Natural;
    for (int i = 0; i < M; ++i) {
      const int8_t* xq = a.q + (t.i0 + i) * a.k;
      const float xsb = a.scale[(t.i0 + i) * nb + b];
      for (int r = 0; r < R; ++r) {
        int32_t s = 0;
        for (int p = 0; p < kActBlock; ++p) s += codes[r][p] * xq[act_offset(kOrder, nb, b, p)];
        acc[r][i] += static_cast<float>(s) * (ws[r] * xsb);
      }
    }
  }
  if constexpr (kHasBias<F>) {
    const int64_t groups = a.k / a.group;
    for (int i = 0; i < M; ++i) {
      const float* gs = a.group_sum + (t.i0 + i) * groups;
      for (int r = 0; r < R; ++r) {
        for (int64_t g = 0; g < groups; ++g) acc[r][i] += t.bpair[2 * g + r] * gs[g];
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int i = 0; i < M; ++i) out[r * M + i] = acc[r][i];
  }
}
#endif

#if MLXLM_VNNI
// unpack_row_bytes_t with AVX-512 VBMI, 64 codes per step: each 8-code group's kBits bytes
// moved into a qword of their own, then the codes picked out by their bit offsets
// (`vpmultishiftqb`) and masked.
template <int kBits>
struct VbmiUnpack {
  alignas(64) uint8_t gather[64] = {};  // byte 8g + t: source byte of group g's byte t
  alignas(64) uint8_t shifts[64] = {};  // byte 8g + t: bit offset of code t in its qword
  constexpr VbmiUnpack() {
    for (int g = 0; g < 8; ++g) {
      for (int t = 0; t < 8; ++t) {
        gather[8 * g + t] = static_cast<uint8_t>(g * kBits + std::min(t, kBits - 1));
        shifts[8 * g + t] = static_cast<uint8_t>(t * kBits);
      }
    }
  }
};

template <int kBits>
HWY_INLINE void UnpackRowBytes(const uint8_t* src, int64_t k, uint8_t* dst) {
  static constexpr VbmiUnpack<kBits> kTables{};
  const __m512i gather = _mm512_load_si512(kTables.gather);
  const __m512i shifts = _mm512_load_si512(kTables.shifts);
  const __m512i mask = _mm512_set1_epi8(static_cast<char>((1 << kBits) - 1));
  const auto in_bytes =
      static_cast<__mmask64>(kBits == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * kBits)) - 1);
  int64_t j = 0;
  for (; j + 64 <= k; j += 64) {
    const __m512i v = _mm512_maskz_loadu_epi8(in_bytes, src + j / 8 * kBits);
    const __m512i codes = _mm512_multishift_epi64_epi8(shifts, _mm512_permutexvar_epi8(gather, v));
    _mm512_storeu_si512(dst + j, _mm512_and_si512(codes, mask));
  }
  q::unpack_row_bytes_t<kBits>(src + j / 8 * kBits, k - j, dst + j);
}
#endif

// The codes of one weight row: in place, or unpacked to one byte each (3/5/6 bits).
template <int F>
HWY_INLINE const uint8_t* RowCodes(const WeightRef& w, int64_t row, std::vector<uint8_t>& buf) {
  const int64_t row_bytes = w.format == WeightFormat::MxFp4 ? w.cols / 2 : w.cols * w.bits / 8;
  const auto* codes = static_cast<const uint8_t*>(w.data) + row * row_bytes;
  if constexpr (F != q::kFmtBytes) {
    return codes;
  } else {
    buf.resize(w.cols);
#if MLXLM_VNNI
    q::with_bits(w.bits, [&](auto b) { UnpackRowBytes<b()>(codes, w.cols, buf.data()); });
#else
    q::unpack_row_bytes(codes, w.cols, w.bits, buf.data());
#endif
    return buf.data();
  }
}

// Rows [r, r + rows) against activation rows [i0, i1), as tiles of R weight rows; a last tile
// with fewer rows repeats its last row, so that every row gets the same arithmetic (and the
// same result) wherever the thread pool's ranges put it.
template <int F, DType SD, int R, int M>
HWY_INLINE void TileRows(const QuantizedActs& a, const WeightRef& w, const float* bias, float* y,
                         int64_t r, int rows, int64_t i0, int64_t i1, std::vector<uint8_t>* bufs) {
  const uint8_t* codes[R];
  for (int t = 0; t < R; ++t) codes[t] = RowCodes<F>(w, r + std::min(t, rows - 1), bufs[t]);
  const int64_t groups = a.k / a.group;
  const int shift = GroupShift(a);
  const int64_t r1 = r + rows - 1;  // a one-row tile repeats its row
  float stack_pairs[4 * 512];
  float* wpair = FloatScratch(4 * groups, stack_pairs, 4 * 512);
  float* bpair = wpair + 2 * groups;
  PairF32<SD>(w.scales, r, r1, groups, wpair);
  if constexpr (kHasBias<F>) {
    PairF32<SD>(w.biases, r, r1, groups, bpair);
    FoldShiftedCodes<F>(wpair, 2 * groups, bpair);
  }
  TileArgs args{codes, &a, 0, shift, wpair, bpair};
  auto finish = [&](int64_t i, float dot0, float dot1) {
    y[i * w.rows + r] = dot0 + (bias != nullptr ? bias[r] : 0.0f);
    if (rows > 1) y[i * w.rows + r1] = dot1 + (bias != nullptr ? bias[r1] : 0.0f);
  };
  int64_t i = i0;
  for (; i + M <= i1; i += M) {
    float out[R * M];
    args.i0 = i;
    QuantTile<F, SD, R, M>(args, out);
    for (int u = 0; u < M; ++u) finish(i + u, out[u], out[M + u]);
  }
  for (; i < i1; ++i) {
    float out[R];
    args.i0 = i;
    QuantTile<F, SD, R, 1>(args, out);
    finish(i, out[0], out[1]);
  }
}

template <int F, DType SD>
void QuantRowsT(const QuantizedActs& a, const WeightRef& w, const float* bias, float* y, int64_t r0,
                int64_t r1) {
#if MLXLM_VNNI
  if constexpr (F == 4 || F == 8) {
    if (LaneRowsApply(a)) return LaneRows<F, SD>(a, w, bias, y, r0, r1);
    if (SingleRowsApply<F>(a)) return SingleRows<F, SD>(a, w, bias, y, r0, r1);
  }
#elif MLXLM_X86_INT8
  if constexpr (F == 4 || F == 8) {
    // 8-bit rows in lanes pay twice the 4-bit transposes per weight byte: with 4-7 activation
    // rows, where a product is bound by reading the weights, the row pairs stream them faster
    // (1B 8-bit batch 4: 49-50 against 41-43 tokens/s in lanes).
    if (LaneRowsApply(a) && (F == 4 || a.m >= 8)) return LaneRows8<F, SD>(a, w, bias, y, r0, r1);
    if (SingleRowsApply<F>(a)) return SingleRows<F, SD>(a, w, bias, y, r0, r1);
  }
#endif
  thread_local std::vector<uint8_t> bufs[8];
  const int64_t mc = ActSliceRows(a);
  for (int64_t i0 = 0; i0 < a.m; i0 += mc) {
    const int64_t i1 = std::min(a.m, i0 + mc);
    for (int64_t r = r0; r < r1; r += 2) {
      const int rows = static_cast<int>(std::min<int64_t>(2, r1 - r));
      if (i1 - i0 >= 8) {
        TileRows<F, SD, 2, 8>(a, w, bias, y, r, rows, i0, i1, bufs);
      } else if (i1 - i0 >= 4) {
        TileRows<F, SD, 2, 4>(a, w, bias, y, r, rows, i0, i1, bufs);
      } else {
        TileRows<F, SD, 2, 1>(a, w, bias, y, r, rows, i0, i1, bufs);
      }
    }
  }
}

template <int F>
void QuantRowsByScale(const QuantizedActs& a, const WeightRef& w, const float* bias, float* y,
                      int64_t r0, int64_t r1) {
  switch (w.scale_dtype) {
    case DType::F32:
      return QuantRowsT<F, DType::F32>(a, w, bias, y, r0, r1);
    case DType::F16:
      return QuantRowsT<F, DType::F16>(a, w, bias, y, r0, r1);
    default:
      return QuantRowsT<F, DType::BF16>(a, w, bias, y, r0, r1);
  }
}

void MatmulQuantRows(const QuantizedActs& a, const WeightRef& w, const float* bias, float* y,
                     int64_t r0, int64_t r1) {
  if (w.format == WeightFormat::MxFp4) {
    return QuantRowsT<q::kFmtFp4, DType::U8>(a, w, bias, y, r0, r1);
  }
  switch (w.bits) {
    case 2:
      return QuantRowsByScale<2>(a, w, bias, y, r0, r1);
    case 4:
      return QuantRowsByScale<4>(a, w, bias, y, r0, r1);
    case 8:
      return QuantRowsByScale<8>(a, w, bias, y, r0, r1);
    default:
      return QuantRowsByScale<q::kFmtBytes>(a, w, bias, y, r0, r1);
  }
}

}  // namespace mlxlm::kernels::HWY_NAMESPACE
#if HWY_TARGET == HWY_AVX3_DL
MLXLM_AVX512_VNNI_END
#endif
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mlxlm::kernels::simd {

HWY_EXPORT(MatmulQuantRows);

void matmul_quant_rows(const QuantizedActs& x, const WeightRef& w, const float* bias, float* y,
                       int64_t row_begin, int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(MatmulQuantRows)(x, w, bias, y, row_begin, row_end);
}

}  // namespace mlxlm::kernels::simd
#endif
