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
struct E8m0HalfTable {
  float v[256];
  E8m0HalfTable() {
    for (int e = 0; e < 256; ++e) v[e] = std::ldexp(1.0f, e - 128);
  }
  float operator[](uint8_t e) const { return v[e]; }
};
inline const E8m0HalfTable kE8m0Half;

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

// Scale i of a row-major scale array, by storage type (U8 = mxfp4's E8M0, halved).
template <DType SD>
HWY_INLINE float ScaleAt(const void* base, int64_t i) {
  if constexpr (SD == DType::F32) {
    return load_f32(base, i);
  } else if constexpr (SD == DType::BF16) {
    return bf16_to_f32(load_u16(base, i));
  } else if constexpr (SD == DType::F16) {
#if MLXLM_X86_INT8
    return _cvtsh_ss(load_u16(base, i));
#else
    return f16_to_f32(load_u16(base, i));
#endif
  } else {
    return q::kE8m0Half[static_cast<const uint8_t*>(base)[i]];
  }
}

// Everything a tile needs to know about the weight rows and the activations.
struct TileArgs {
  const WeightRef* w;
  int64_t row0;                 // first weight row of the tile
  const uint8_t* const* codes;  // per tile row: its packed (or unpacked) codes
  const QuantizedActs* a;
  int64_t i0;           // first activation row of the tile
  int group_shift;      // log2(blocks per group)
  const float* wscale;  // the tile rows' scales as f32, [R][groups]
};

#if MLXLM_X86_INT8
template <int F>
HWY_INLINE __m256i Unpack(const uint8_t* p) {
  if constexpr (F == 2) {
    const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    const __m128i lo = _mm_unpacklo_epi64(v, _mm_srli_epi16(v, 2));
    const __m128i hi = _mm_unpacklo_epi64(_mm_srli_epi16(v, 4), _mm_srli_epi16(v, 6));
    return _mm256_and_si256(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(3));
  } else if constexpr (F == 4 || F == q::kFmtFp4) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i m = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
  } else {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    if constexpr (F == 8 && kShift8) v = _mm256_xor_si256(v, _mm256_set1_epi8(-128));
    return v;
  }
}

HWY_INLINE __m256i Fp4Values(__m256i codes) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12, 0,
                                       1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
  return _mm256_shuffle_epi8(lut, codes);
}

// Weight codes are prefetched this far ahead of the block being multiplied. Decoding streams
// every weight from DRAM, and the hardware prefetchers stop at each 4 KiB page boundary and
// ramp up again; prefetching several pages ahead took 4-bit rows from 6.5 to 10 GB/s on one
// core of the dev machine (matmul_bench BM_MatvecFromDram).
constexpr int64_t kPrefetchBytes = 16384;

// Eight partial int32 sums of w·x; `wu` is |w| when the codes are signed.
template <bool kSigned>
HWY_INLINE __m256i DotBlock(__m256i wu, __m256i w, __m256i x) {
  if constexpr (kSigned) x = _mm256_sign_epi8(x, w);
#if MLXLM_VNNI
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), wu, x);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(wu, x), _mm256_set1_epi16(1));
#endif
}

// The same over two blocks at once (w1/x1 the second operand pair), summed lane-wise.
template <bool kSigned>
HWY_INLINE __m256i DotPair(__m256i wu0, __m256i w0, __m256i x0, __m256i wu1, __m256i w1,
                           __m256i x1) {
  if constexpr (kSigned) {
    x0 = _mm256_sign_epi8(x0, w0);
    x1 = _mm256_sign_epi8(x1, w1);
  }
#if MLXLM_VNNI
  return _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), wu0, x0), wu1, x1);
#else
  // Each maddubs lane is at most 2 * 15 * 127 (or 2 * 12 * 127 for fp4): the int16 sum of two
  // cannot overflow.
  const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(wu0, x0), _mm256_maddubs_epi16(wu1, x1));
  return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
#endif
}

HWY_INLINE float HSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Eight consecutive scales as f32.
template <DType SD>
HWY_INLINE __m256 LoadScales8(const void* base, int64_t i) {
  const auto* p = static_cast<const uint8_t*>(base);
  if constexpr (SD == DType::F32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(p + i * 4));
  } else if constexpr (SD == DType::BF16) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i * 2));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  } else {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i * 2)));
  }
}

// sum_g coef_g * group_sum_g for one weight row and one activation row, where coef is the
// group's bias (plus 128 * scale when 8-bit codes were shifted).
template <int F, DType SD>
HWY_INLINE float BiasTerm(const WeightRef& w, int64_t row, const float* gs, int64_t groups) {
  if constexpr (F == q::kFmtFp4) {
    return 0.0f;
  } else {
    constexpr bool kFold = F == 8 && kShift8;
    const int64_t base = row * groups;
    __m256 acc = _mm256_setzero_ps();
    int64_t g = 0;
    for (; g + 8 <= groups; g += 8) {
      __m256 c = LoadScales8<SD>(w.biases, base + g);
      if constexpr (kFold) {
        c = _mm256_fmadd_ps(LoadScales8<SD>(w.scales, base + g), _mm256_set1_ps(128.0f), c);
      }
      acc = _mm256_fmadd_ps(c, _mm256_loadu_ps(gs + g), acc);
    }
    float s = HSum(acc);
    for (; g < groups; ++g) {
      float c = ScaleAt<SD>(w.biases, base + g);
      if constexpr (kFold) c += 128.0f * ScaleAt<SD>(w.scales, base + g);
      s += c * gs[g];
    }
    return s;
  }
}

// out[r * M + i] = sum over blocks of scale_g(r) * xscale_b(i) * dot(codes_r, xq_i).
template <int F, DType SD, int R, int M>
HWY_INLINE void QuantTile(const TileArgs& t, float* out) {
  constexpr bool kSigned = F == q::kFmtFp4 || (F == 8 && kShift8);
  constexpr bool kNibbles = F == 4 || F == q::kFmtFp4;
  constexpr int64_t kStride = q::block_bytes(F);
  const QuantizedActs& a = *t.a;
  const int64_t nb = a.k / kActBlock;
  const int64_t groups = a.k / a.group;
  __m256 acc[R][M];
  for (int r = 0; r < R; ++r) {
    for (int i = 0; i < M; ++i) acc[r][i] = _mm256_setzero_ps();
  }
  const int8_t* xq[M];
  const float* xs[M];
  for (int i = 0; i < M; ++i) {
    xq[i] = a.q + (t.i0 + i) * a.k;
    xs[i] = a.scale + (t.i0 + i) * nb;
  }
  int64_t b = 0;
  if constexpr (kNibbles) {
    // Two blocks per step: 32 code bytes split into low and high nibbles give the even and the
    // odd values of both blocks, one block per 128-bit lane, which is how the activations of a
    // block pair are laid out (CodeOrder::Nibbles).
    const __m256i lane_of_block = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    const __m256i m = _mm256_set1_epi8(0x0F);
    for (; b + 2 <= nb; b += 2) {
      const int64_t g0 = b >> t.group_shift, g1 = (b + 1) >> t.group_shift;
      __m256 xsv[M];
      for (int i = 0; i < M; ++i) {
        // Two consecutive block scales; loadl_epi64 is an unaligned load (load_sd is not).
        const __m128 two =
            _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(xs[i] + b)));
        xsv[i] = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(two), lane_of_block);
      }
      for (int r = 0; r < R; ++r) {
        const float* wsr = t.wscale + r * groups;
        const __m256 ws =
            g1 == g0 ? _mm256_broadcast_ss(wsr + g0)
                     : _mm256_set_m128(_mm_broadcast_ss(wsr + g1), _mm_broadcast_ss(wsr + g0));
        const uint8_t* cp = t.codes[r] + b * kStride;
        _mm_prefetch(reinterpret_cast<const char*>(cp + kPrefetchBytes), _MM_HINT_T0);
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cp));
        __m256i lo = _mm256_and_si256(v, m);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
        __m256i ulo = lo, uhi = hi;
        if constexpr (F == q::kFmtFp4) {
          lo = Fp4Values(lo);
          hi = Fp4Values(hi);
          ulo = _mm256_abs_epi8(lo);
          uhi = _mm256_abs_epi8(hi);
        }
        for (int i = 0; i < M; ++i) {
          const __m256i xe = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[i] + b * 32));
          const __m256i xo =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[i] + b * 32 + 32));
          const __m256i p = DotPair<kSigned>(ulo, lo, xe, uhi, hi, xo);
          acc[r][i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(xsv[i], ws), acc[r][i]);
        }
      }
    }
  }
  for (; b < nb; ++b) {
    const int64_t g = b >> t.group_shift;
    float wsg[R];
    __m256i w[R], wu[R];
    for (int r = 0; r < R; ++r) {
      wsg[r] = t.wscale[r * groups + g];
      _mm_prefetch(reinterpret_cast<const char*>(t.codes[r] + b * kStride + kPrefetchBytes),
                   _MM_HINT_T0);
      w[r] = Unpack<F>(t.codes[r] + b * kStride);
      if constexpr (F == q::kFmtFp4) w[r] = Fp4Values(w[r]);
      wu[r] = kSigned ? _mm256_abs_epi8(w[r]) : w[r];
    }
    for (int i = 0; i < M; ++i) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[i] + b * 32));
      const float xsb = xs[i][b];
      for (int r = 0; r < R; ++r) {
        const __m256i p = DotBlock<kSigned>(wu[r], w[r], xv);
        acc[r][i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(wsg[r] * xsb), acc[r][i]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int i = 0; i < M; ++i) out[r * M + i] = HSum(acc[r][i]);
  }
}
#else
template <int F, DType SD>
HWY_INLINE float BiasTerm(const WeightRef& w, int64_t row, const float* gs, int64_t groups) {
  if constexpr (F == q::kFmtFp4) {
    return 0.0f;
  } else {
    float s = 0.0f;
    for (int64_t g = 0; g < groups; ++g) s += ScaleAt<SD>(w.biases, row * groups + g) * gs[g];
    return s;
  }
}

// Portable version (SSE4, NEON, scalar targets): the same arithmetic one code at a time.
template <int F, DType SD, int R, int M>
HWY_INLINE void QuantTile(const TileArgs& t, float* out) {
  constexpr int64_t kStride = q::block_bytes(F);
  const QuantizedActs& a = *t.a;
  const int64_t nb = a.k / kActBlock;
  const int64_t groups = a.k / a.group;
  float acc[R][M] = {};
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t g = b >> t.group_shift;
    int codes[R][kActBlock];
    float ws[R];
    for (int r = 0; r < R; ++r) {
      ws[r] = t.wscale[r * groups + g];
      for (int p = 0; p < kActBlock; ++p)
        codes[r][p] = q::scalar_code<F>(t.codes[r] + b * kStride, p);
    }
    constexpr CodeOrder kOrder = (F == 4 || F == q::kFmtFp4) ? CodeOrder::Nibbles
                                 : F == 2 ? CodeOrder::Crumbs
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
  for (int r = 0; r < R; ++r) {
    for (int i = 0; i < M; ++i) out[r * M + i] = acc[r][i];
  }
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
    q::unpack_row_bytes(codes, w.cols, w.bits, buf.data());
    return buf.data();
  }
}

// The scales of weight rows [row, row + n) as f32, so that the tile loops broadcast them with a
// single load instead of converting one per block.
template <DType SD>
HWY_INLINE void RowScalesF32(const WeightRef& w, int64_t row, int64_t n, int64_t groups,
                             float* dst) {
  const int64_t count = n * groups, base = row * groups;
  int64_t g = 0;
#if MLXLM_X86_INT8
  if constexpr (SD != DType::U8) {
    for (; g + 8 <= count; g += 8) _mm256_storeu_ps(dst + g, LoadScales8<SD>(w.scales, base + g));
  }
#endif
  for (; g < count; ++g) dst[g] = ScaleAt<SD>(w.scales, base + g);
}

template <int F, DType SD, int R, int M>
HWY_INLINE void TileRows(const QuantizedActs& a, const WeightRef& w, const float* bias, float* y,
                         int64_t r, int64_t i0, int64_t i1, std::vector<uint8_t>* bufs) {
  const uint8_t* codes[R];
  for (int t = 0; t < R; ++t) codes[t] = RowCodes<F>(w, r + t, bufs[t]);
  const int64_t groups = a.k / a.group;
  int shift = 0;
  while ((int64_t{1} << shift) < a.group / kActBlock) ++shift;
  thread_local std::vector<float> wscale;
  wscale.resize(R * groups);
  RowScalesF32<SD>(w, r, R, groups, wscale.data());
  TileArgs args{&w, r, codes, &a, 0, shift, wscale.data()};
  auto finish = [&](int64_t i, int t, float dot) {
    const float extra = BiasTerm<F, SD>(w, r + t, a.group_sum + i * groups, groups);
    y[i * w.rows + r + t] = dot + extra + (bias != nullptr ? bias[r + t] : 0.0f);
  };
  int64_t i = i0;
  for (; i + M <= i1; i += M) {
    float out[R * M];
    args.i0 = i;
    QuantTile<F, SD, R, M>(args, out);
    for (int t = 0; t < R; ++t) {
      for (int u = 0; u < M; ++u) finish(i + u, t, out[t * M + u]);
    }
  }
  for (; i < i1; ++i) {
    float out[R];
    args.i0 = i;
    QuantTile<F, SD, R, 1>(args, out);
    for (int t = 0; t < R; ++t) finish(i, t, out[t]);
  }
}

template <int F, DType SD>
void QuantRowsT(const QuantizedActs& a, const WeightRef& w, const float* bias, float* y, int64_t r0,
                int64_t r1) {
  thread_local std::vector<uint8_t> bufs[8];
  // Activation rows per pass: a slice of int8 activations that stays in L2 while the weight
  // rows stream past once per slice.
  const int64_t mc = std::max<int64_t>(4, (256 << 10) / a.k);
  for (int64_t i0 = 0; i0 < a.m; i0 += mc) {
    const int64_t i1 = std::min(a.m, i0 + mc);
    int64_t r = r0;
    if (i1 - i0 >= 4) {
      for (; r + 2 <= r1; r += 2) TileRows<F, SD, 2, 4>(a, w, bias, y, r, i0, i1, bufs);
    } else {
      for (; r + 2 <= r1; r += 2) TileRows<F, SD, 2, 1>(a, w, bias, y, r, i0, i1, bufs);
    }
    for (; r < r1; ++r) TileRows<F, SD, 1, 1>(a, w, bias, y, r, i0, i1, bufs);
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
