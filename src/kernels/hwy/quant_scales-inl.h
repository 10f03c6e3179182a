// Weight scales and biases of the quantized matmul: scalar access by storage type, rows of
// scales converted to f32, and the bias term sum_g bias_g * group_sum_g; included once per SIMD
// target by quant_matmul_hwy.cc.
#if defined(MLXLM_KERNELS_QUANT_SCALES_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLXLM_KERNELS_QUANT_SCALES_INL_H_
#undef MLXLM_KERNELS_QUANT_SCALES_INL_H_
#else
#define MLXLM_KERNELS_QUANT_SCALES_INL_H_
#endif

#include <hwy/highway.h>

#include "kernels/hwy/avx512_vnni.h"
#include "kernels/hwy/quant_codes.h"
#include "kernels/hwy/scalar_load.h"
#include "kernels/hwy/x86_int8-inl.h"
#include "kernels/weight.h"
#include "tensor/dtype.h"

HWY_BEFORE_NAMESPACE();
#if HWY_TARGET == HWY_AVX3_DL
MLXLM_AVX512_VNNI_BEGIN
#endif
namespace mlxlm::kernels::HWY_NAMESPACE {
namespace q = qdetail;

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

#if MLXLM_X86_INT8
// sum_g coef_g * group_sum_g for weight rows rows[0 .. R) (R = 1 or 2) and one activation row,
// where coef is the group's bias (plus 128 * scale when 8-bit codes were shifted). A pair shares
// the loads of the group sums and one reduction.
template <int F, DType SD, int R>
HWY_INLINE void BiasRows(const WeightRef& w, const int64_t* rows, const float* gs, int64_t groups,
                         float* out) {
  static_assert(R == 1 || R == 2, "one row or a pair");
  const int64_t row0 = rows[0], row1 = rows[R - 1];
  if constexpr (F == q::kFmtFp4) {
    for (int t = 0; t < R; ++t) out[t] = 0.0f;
  } else {
    constexpr bool kFold = F == 8 && kShift8;
    auto coef8 = [&](int64_t row, int64_t g) {
      __m256 c = LoadScales8<SD>(w.biases, row * groups + g);
      if constexpr (kFold) {
        c = _mm256_fmadd_ps(LoadScales8<SD>(w.scales, row * groups + g), _mm256_set1_ps(128.0f), c);
      }
      return c;
    };
    auto coef = [&](int64_t row, int64_t g) {
      float c = ScaleAt<SD>(w.biases, row * groups + g);
      if constexpr (kFold) c += 128.0f * ScaleAt<SD>(w.scales, row * groups + g);
      return c;
    };
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t g = 0;
    for (; g + 8 <= groups; g += 8) {
      const __m256 x = _mm256_loadu_ps(gs + g);
      acc0 = _mm256_fmadd_ps(coef8(row0, g), x, acc0);
      if constexpr (R == 2) acc1 = _mm256_fmadd_ps(coef8(row1, g), x, acc1);
    }
    // [row0 pairs, row1 pairs] per 128-bit lane, then the lanes added: (s0, s0', s1, s1').
    const __m256 h = _mm256_hadd_ps(acc0, acc1);
    __m128 v = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    v = _mm_hadd_ps(v, v);
    out[0] = _mm_cvtss_f32(v);
    if constexpr (R == 2) out[1] = _mm_cvtss_f32(_mm_movehdup_ps(v));
    for (; g < groups; ++g) {
      out[0] += coef(row0, g) * gs[g];
      if constexpr (R == 2) out[1] += coef(row1, g) * gs[g];
    }
  }
}
#else
template <int F, DType SD, int R>
HWY_INLINE void BiasRows(const WeightRef& w, const int64_t* rows, const float* gs, int64_t groups,
                         float* out) {
  for (int t = 0; t < R; ++t) {
    out[t] = 0.0f;
    if constexpr (F != q::kFmtFp4) {
      for (int64_t g = 0; g < groups; ++g)
        out[t] += ScaleAt<SD>(w.biases, rows[t] * groups + g) * gs[g];
    }
  }
}

#endif  // MLXLM_X86_INT8

// The scales of weight rows row0 and row1 as f32, interleaved ([groups][2]), so that the tile
// loops broadcast a group's pair with a single load instead of converting one per block.
template <DType SD>
HWY_INLINE void PairScales(const WeightRef& w, int64_t row0, int64_t row1, int64_t groups,
                           float* dst) {
  int64_t g = 0;
#if MLXLM_X86_INT8
  if constexpr (SD != DType::U8) {
    for (; g + 8 <= groups; g += 8) {
      const __m256 a = LoadScales8<SD>(w.scales, row0 * groups + g);
      const __m256 b = LoadScales8<SD>(w.scales, row1 * groups + g);
      const __m256 lo = _mm256_unpacklo_ps(a, b), hi = _mm256_unpackhi_ps(a, b);
      _mm256_storeu_ps(dst + 2 * g, _mm256_permute2f128_ps(lo, hi, 0x20));
      _mm256_storeu_ps(dst + 2 * g + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
  }
#endif
  for (; g < groups; ++g) {
    dst[2 * g] = ScaleAt<SD>(w.scales, row0 * groups + g);
    dst[2 * g + 1] = ScaleAt<SD>(w.scales, row1 * groups + g);
  }
}

// The scales of weight row `row` as f32.
template <DType SD>
HWY_INLINE void RowScales(const WeightRef& w, int64_t row, int64_t groups, float* dst) {
  int64_t g = 0;
#if MLXLM_X86_INT8
  if constexpr (SD != DType::U8) {
    for (; g + 8 <= groups; g += 8)
      _mm256_storeu_ps(dst + g, LoadScales8<SD>(w.scales, row * groups + g));
  }
#endif
  for (; g < groups; ++g) dst[g] = ScaleAt<SD>(w.scales, row * groups + g);
}

}  // namespace mlxlm::kernels::HWY_NAMESPACE
#if HWY_TARGET == HWY_AVX3_DL
MLXLM_AVX512_VNNI_END
#endif
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
