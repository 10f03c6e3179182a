// y = x · Wᵀ for mlx affine (2-8 bits) and mxfp4 weights against int8-quantized activations.
//
// For output row r, activation row i, weight group g and activation block b (32 values):
//   y = sum_b scale_g * xscale_b * sum(q_w * q_x)  +  sum_g bias_g * sum_{j in g} x_j
// The first sum runs on integer dot products (AVX2 maddubs, AVX-512 VNNI dpbusd); the second
// uses per-group activation sums computed once per call (QuantizedActs::group_sum).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/hwy/dispatch.h"
#include "kernels/hwy/scalar_load.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/hwy/quant_matmul_hwy.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#ifndef MLXLM_KERNELS_QUANT_MATMUL_ONCE
#define MLXLM_KERNELS_QUANT_MATMUL_ONCE
namespace mlxlm::kernels::qdetail {

// Code formats of a 32-value block, named by how it is stored.
constexpr int kFmtBytes = 0;  // one code per byte (3/5/6-bit rows unpacked up front)
constexpr int kFmtFp4 = 16;   // mxfp4 E2M1 nibbles

constexpr int64_t block_bytes(int fmt) {
  return fmt == kFmtBytes ? 32 : fmt == kFmtFp4 ? 16 : fmt * 4;
}

// E2M1 values times two, so that they are integers.
constexpr int8_t kFp4x2[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// 2^(e - 128): the E8M0 scale 2^(e - 127) halved to undo kFp4x2's doubling.
inline float e8m0_half(uint8_t e) { return std::ldexp(1.0f, static_cast<int>(e) - 128); }

// Unpacks a row of `k` codes of `bits` bits (3, 5 or 6) into bytes, 8 codes (= `bits` bytes)
// at a time so that no read passes the end of the row.
inline void unpack_row_bytes(const uint8_t* src, int64_t k, int bits, uint8_t* dst) {
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  for (int64_t j = 0; j < k; j += 8) {
    uint64_t v = 0;
    std::memcpy(&v, src + (j / 8) * bits, static_cast<size_t>(bits));
    for (int t = 0; t < 8; ++t) dst[j + t] = static_cast<uint8_t>((v >> (t * bits)) & mask);
  }
}

// Code p of a block in the order the SIMD unpacking produces (see quant_acts.h CodeOrder).
template <int F>
inline int scalar_code(const uint8_t* p, int pos) {
  if constexpr (F == 4 || F == kFmtFp4) {
    int c = pos < 16 ? (p[pos] & 15) : (p[pos - 16] >> 4);
    return F == kFmtFp4 ? kFp4x2[c] : c;
  } else if constexpr (F == 2) {
    return (p[pos % 8] >> (2 * (pos / 8))) & 3;
  } else {
    return p[pos];
  }
}

}  // namespace mlxlm::kernels::qdetail
#endif

HWY_BEFORE_NAMESPACE();
namespace mlxlm::kernels::HWY_NAMESPACE {
namespace q = qdetail;

#undef MLXLM_X86_INT8
#undef MLXLM_VNNI
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#define MLXLM_X86_INT8 1
#else
#define MLXLM_X86_INT8 0
#endif
#if HWY_TARGET == HWY_AVX3_DL
#define MLXLM_VNNI 1
#else
#define MLXLM_VNNI 0
#endif

// Whether 8-bit codes are shifted to signed (q - 128) so that maddubs cannot saturate; the
// shift is undone through the bias term (bias + 128 * scale).
constexpr bool kShift8 = MLXLM_X86_INT8 && !MLXLM_VNNI;

#if MLXLM_X86_INT8
template <int F>
HWY_INLINE __m256i Unpack(const uint8_t* p) {
  if constexpr (F == 4 || F == q::kFmtFp4) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i m = _mm_set1_epi8(0x0F);
    __m256i c = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
    if constexpr (F == q::kFmtFp4) {
      const __m256i lut = _mm256_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12,
                                           0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
      c = _mm256_shuffle_epi8(lut, c);
    }
    return c;
  } else if constexpr (F == 2) {
    const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    const __m128i lo = _mm_unpacklo_epi64(v, _mm_srli_epi16(v, 2));
    const __m128i hi = _mm_unpacklo_epi64(_mm_srli_epi16(v, 4), _mm_srli_epi16(v, 6));
    return _mm256_and_si256(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(3));
  } else {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    if constexpr (F == 8 && kShift8) v = _mm256_xor_si256(v, _mm256_set1_epi8(-128));
    return v;
  }
}

// Eight partial int32 sums of w·x over the block; `wu` is |w| when the codes are signed.
template <bool kSigned>
HWY_INLINE __m256i DotBlock(__m256i wu, __m256i w, __m256i x) {
  if constexpr (kSigned) x = _mm256_sign_epi8(x, w);
#if MLXLM_VNNI
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), wu, x);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(wu, x), _mm256_set1_epi16(1));
#endif
}

HWY_INLINE float HSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// out[r * M + i] = sum over blocks of scale_g(r) * xscale_b(i) * dot(codes_r, xq_i).
template <int F, int R, int M>
HWY_INLINE void QuantTile(const uint8_t* const* wr, const float* const* ws, const QuantizedActs& a,
                          int64_t i0, float* out) {
  constexpr bool kSigned = F == q::kFmtFp4 || (F == 8 && kShift8);
  constexpr int64_t kStride = q::block_bytes(F);
  const int64_t nb = a.k / kActBlock;
  const int64_t bpg = a.group / kActBlock;
  const int64_t groups = a.k / a.group;
  __m256 acc[R][M];
  for (int r = 0; r < R; ++r) {
    for (int i = 0; i < M; ++i) acc[r][i] = _mm256_setzero_ps();
  }
  const int8_t* xq[M];
  const float* xs[M];
  for (int i = 0; i < M; ++i) {
    xq[i] = a.q + (i0 + i) * a.k;
    xs[i] = a.scale + (i0 + i) * nb;
  }
  int64_t b = 0;
  for (int64_t g = 0; g < groups; ++g) {
    float wsg[R];
    for (int r = 0; r < R; ++r) wsg[r] = ws[r][g];
    for (int64_t e = 0; e < bpg; ++e, ++b) {
      __m256i w[R], wu[R];
      for (int r = 0; r < R; ++r) {
        w[r] = Unpack<F>(wr[r] + b * kStride);
        wu[r] = kSigned ? _mm256_abs_epi8(w[r]) : w[r];
      }
      for (int i = 0; i < M; ++i) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[i] + b * 32));
        const float xsb = xs[i][b];
        for (int r = 0; r < R; ++r) {
          const __m256i p = DotBlock<kSigned>(wu[r], w[r], xv);
          acc[r][i] =
              _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(wsg[r] * xsb), acc[r][i]);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int i = 0; i < M; ++i) out[r * M + i] = HSum(acc[r][i]);
  }
}
#else
// Portable version (SSE4, NEON, scalar targets): the same arithmetic one code at a time.
template <int F, int R, int M>
HWY_INLINE void QuantTile(const uint8_t* const* wr, const float* const* ws, const QuantizedActs& a,
                          int64_t i0, float* out) {
  constexpr int64_t kStride = q::block_bytes(F);
  const int64_t nb = a.k / kActBlock;
  const int64_t bpg = a.group / kActBlock;
  const int64_t groups = a.k / a.group;
  float acc[R][M] = {};
  int64_t b = 0;
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t e = 0; e < bpg; ++e, ++b) {
      int codes[R][kActBlock];
      for (int r = 0; r < R; ++r) {
        for (int p = 0; p < kActBlock; ++p) codes[r][p] = q::scalar_code<F>(wr[r] + b * kStride, p);
      }
      for (int i = 0; i < M; ++i) {
        const int8_t* xq = a.q + (i0 + i) * a.k + b * kActBlock;
        const float xsb = a.scale[(i0 + i) * nb + b];
        for (int r = 0; r < R; ++r) {
          int32_t s = 0;
          for (int p = 0; p < kActBlock; ++p) s += codes[r][p] * xq[p];
          acc[r][i] += static_cast<float>(s) * (ws[r][g] * xsb);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int i = 0; i < M; ++i) out[r * M + i] = acc[r][i];
  }
}
#endif

// Per-row state a tile needs: where the row's codes are, its group scales as f32, and the
// per-group coefficient of the activation group sums.
struct RowPrep {
  std::vector<float> scale;
  std::vector<float> bias_coef;
  std::vector<uint8_t> codes;  // kFmtBytes: the row unpacked
};

template <int F>
HWY_INLINE const uint8_t* PrepareRow(const WeightRef& w, int64_t row, RowPrep& p) {
  const int64_t groups = w.cols / w.group_size;
  p.scale.resize(groups);
  p.bias_coef.resize(groups);
  if (w.format == WeightFormat::MxFp4) {
    const auto* sc = static_cast<const uint8_t*>(w.scales) + row * groups;
    for (int64_t g = 0; g < groups; ++g) {
      p.scale[g] = q::e8m0_half(sc[g]);
      p.bias_coef[g] = 0.0f;
    }
    return static_cast<const uint8_t*>(w.data) + row * (w.cols / 2);
  }
  for (int64_t g = 0; g < groups; ++g) {
    const float s = load_float(w.scales, w.scale_dtype, row * groups + g);
    p.scale[g] = s;
    p.bias_coef[g] = load_float(w.biases, w.scale_dtype, row * groups + g) +
                     ((F == 8 && kShift8) ? 128.0f * s : 0.0f);
  }
  const auto* codes = static_cast<const uint8_t*>(w.data) + row * (w.cols * w.bits / 8);
  if constexpr (F != q::kFmtBytes) {
    return codes;
  } else {
    p.codes.resize(w.cols);
    q::unpack_row_bytes(codes, w.cols, w.bits, p.codes.data());
    return p.codes.data();
  }
}

template <int F, int R, int M>
HWY_INLINE void TileRows(const QuantizedActs& a, const WeightRef& w, const float* bias, float* y,
                         int64_t r, int64_t i0, int64_t i1, RowPrep* prep) {
  const uint8_t* wr[R];
  const float* ws[R];
  for (int t = 0; t < R; ++t) {
    wr[t] = PrepareRow<F>(w, r + t, prep[t]);
    ws[t] = prep[t].scale.data();
  }
  const int64_t groups = a.k / a.group;
  auto finish = [&](int64_t i, int t, float dot) {
    const float* gs = a.group_sum + i * groups;
    const float* bc = prep[t].bias_coef.data();
    float s = 0.0f;
    for (int64_t g = 0; g < groups; ++g) s += bc[g] * gs[g];
    y[i * w.rows + r + t] = dot + s + (bias != nullptr ? bias[r + t] : 0.0f);
  };
  int64_t i = i0;
  for (; i + M <= i1; i += M) {
    float out[R * M];
    QuantTile<F, R, M>(wr, ws, a, i, out);
    for (int t = 0; t < R; ++t) {
      for (int u = 0; u < M; ++u) finish(i + u, t, out[t * M + u]);
    }
  }
  for (; i < i1; ++i) {
    float out[R];
    QuantTile<F, R, 1>(wr, ws, a, i, out);
    for (int t = 0; t < R; ++t) finish(i, t, out[t]);
  }
}

template <int F>
void QuantRowsT(const QuantizedActs& a, const WeightRef& w, const float* bias, float* y, int64_t r0,
                int64_t r1) {
  thread_local RowPrep prep[4];
  // Activation rows per pass: a slice of int8 activations that stays in L2 while the weight
  // rows stream past once per slice.
  const int64_t mc = std::max<int64_t>(4, (256 << 10) / a.k);
  for (int64_t i0 = 0; i0 < a.m; i0 += mc) {
    const int64_t i1 = std::min(a.m, i0 + mc);
    int64_t r = r0;
    if (i1 - i0 >= 4) {
      for (; r + 2 <= r1; r += 2) TileRows<F, 2, 4>(a, w, bias, y, r, i0, i1, prep);
    } else {
      for (; r + 4 <= r1; r += 4) TileRows<F, 4, 1>(a, w, bias, y, r, i0, i1, prep);
    }
    for (; r < r1; ++r) TileRows<F, 1, 1>(a, w, bias, y, r, i0, i1, prep);
  }
}

void MatmulQuantRows(const QuantizedActs& a, const WeightRef& w, const float* bias, float* y,
                     int64_t r0, int64_t r1) {
  if (w.format == WeightFormat::MxFp4) return QuantRowsT<q::kFmtFp4>(a, w, bias, y, r0, r1);
  switch (w.bits) {
    case 2:
      return QuantRowsT<2>(a, w, bias, y, r0, r1);
    case 4:
      return QuantRowsT<4>(a, w, bias, y, r0, r1);
    case 8:
      return QuantRowsT<8>(a, w, bias, y, r0, r1);
    default:
      return QuantRowsT<q::kFmtBytes>(a, w, bias, y, r0, r1);
  }
}

}  // namespace mlxlm::kernels::HWY_NAMESPACE
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
