// Weight scales and biases of the quantized matmul: scalar access by storage type, prefetch, rows
// of scales converted to f32, and the bias term sum_g bias_g * group_sum_g; included once per SIMD
// target by quant_matmul_hwy.cc.
#if defined(MLXLM_KERNELS_QUANT_SCALES_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLXLM_KERNELS_QUANT_SCALES_INL_H_
#undef MLXLM_KERNELS_QUANT_SCALES_INL_H_
#else
#define MLXLM_KERNELS_QUANT_SCALES_INL_H_
#endif

#include <vector>

#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include "kernels/hwy/avx512_vnni.h"
#include "kernels/hwy/quant_codes.h"
#include "kernels/hwy/scalar_load.h"
#include "kernels/hwy/x86_int8-inl.h"
#include "kernels/quant_acts.h"
#include "kernels/weight.h"
#include "tensor/dtype.h"

HWY_BEFORE_NAMESPACE();
#if HWY_TARGET == HWY_AVX3_DL
MLXLM_AVX512_VNNI_BEGIN
#endif
namespace mlxlm::kernels::HWY_NAMESPACE {
namespace q = qdetail;

// log2(activation blocks per weight group).
inline int GroupShift(const QuantizedActs& a) {
  int shift = 0;
  while ((int64_t{1} << shift) < a.group / kActBlock) ++shift;
  return shift;
}

// Bytes per stored scale (or bias), by storage type.
template <DType SD>
constexpr int64_t kScaleBytes = SD == DType::F32  ? 4
                                : SD == DType::U8 ? 1
                                                  : 2;

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

// Scales (or biases) of weight rows row0 and row1 as f32, interleaved ([groups][2]) to match
// the row-pair kernels' lanes: a group's pair broadcasts with a single load, and the bias term
// is plain FMAs against QuantizedActs::group_sum_pairs.
template <DType SD>
HWY_INLINE void PairF32(const void* src, int64_t row0, int64_t row1, int64_t groups, float* dst) {
  int64_t g = 0;
#if MLXLM_X86_INT8
  if constexpr (SD != DType::U8) {
    for (; g + 8 <= groups; g += 8) {
      const __m256 a = LoadScales8<SD>(src, row0 * groups + g);
      const __m256 b = LoadScales8<SD>(src, row1 * groups + g);
      const __m256 lo = _mm256_unpacklo_ps(a, b), hi = _mm256_unpackhi_ps(a, b);
      _mm256_storeu_ps(dst + 2 * g, _mm256_permute2f128_ps(lo, hi, 0x20));
      _mm256_storeu_ps(dst + 2 * g + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
  }
#endif
  for (; g < groups; ++g) {
    dst[2 * g] = ScaleAt<SD>(src, row0 * groups + g);
    dst[2 * g + 1] = ScaleAt<SD>(src, row1 * groups + g);
  }
}

// Fetches the scales (or biases) of weight rows [row, row + rows) ahead of use. Weight rows in
// lanes read a tile's at its start, a few lines of an array apart from the codes, which the
// hardware prefetchers left to DRAM latency: at 8 activation rows, prefetching the next tile's
// took 4 Llama-1B layers from 242 to 277 G multiply-adds/s. (The one-row kernel's row-by-row
// stream was slower with it: 92 against 101.)
template <DType SD>
HWY_INLINE void PrefetchRowValues(const void* src, int64_t row, int64_t rows, int64_t groups) {
  const auto begin = reinterpret_cast<uintptr_t>(src) + row * groups * kScaleBytes<SD>;
  const uintptr_t end = begin + rows * groups * kScaleBytes<SD>;
  for (uintptr_t line = begin & ~uintptr_t{63}; line < end; line += 64) {
    hwy::Prefetch(reinterpret_cast<const uint8_t*>(line));
  }
}

// `n` floats of scratch for a row's scales: `stack` (of stack_n) when they fit, else a
// per-thread heap buffer. Decoding's small weights keep theirs on the stack.
inline float* FloatScratch(int64_t n, float* stack, int64_t stack_n) {
  if (n <= stack_n) return stack;
  thread_local std::vector<float> heap;
  heap.resize(n);
  return heap.data();
}

// Scales (or biases) of weight row `row` as f32.
template <DType SD>
HWY_INLINE void RowF32(const void* src, int64_t row, int64_t groups, float* dst) {
  int64_t g = 0;
#if MLXLM_X86_INT8
  if constexpr (SD != DType::U8) {
    for (; g + 8 <= groups; g += 8)
      _mm256_storeu_ps(dst + g, LoadScales8<SD>(src, row * groups + g));
  }
#endif
  for (; g < groups; ++g) dst[g] = ScaleAt<SD>(src, row * groups + g);
}

// The coefficients of the bias term sum_g coef_g * group_sum_g, given `n` converted biases and
// the matching scales: the bias itself, plus 128 * scale where 8-bit codes were shifted to
// signed (kShift8). mxfp4 has no biases, so no bias term.
template <int F>
constexpr bool kHasBias = F != q::kFmtFp4;
template <int F>
HWY_INLINE void FoldShiftedCodes(const float* scales, int64_t n, float* coef) {
  if constexpr (F == 8 && kShift8) {
    for (int64_t j = 0; j < n; ++j) coef[j] += 128.0f * scales[j];
  }
}

#if MLXLM_X86_INT8
// The bias term of a row pair in the pair kernels' lane layout (even lanes row 0, odd row 1):
// sum over lanes of bpair * gs_pairs, for groups [0, 4 * (groups / 4)); the last groups % 4
// are returned in tail[0..1].
HWY_INLINE __m256 PairBiasTerm(const float* bpair, const float* gs_pairs, int64_t groups,
                               float* tail) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t g = 0;
  for (; g + 8 <= groups; g += 8) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(bpair + 2 * g), _mm256_loadu_ps(gs_pairs + 2 * g), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(bpair + 2 * g + 8), _mm256_loadu_ps(gs_pairs + 2 * g + 8),
                         a1);
  }
  for (; g + 4 <= groups; g += 4) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(bpair + 2 * g), _mm256_loadu_ps(gs_pairs + 2 * g), a0);
  }
  tail[0] = tail[1] = 0.0f;
  for (; g < groups; ++g) {
    tail[0] += bpair[2 * g] * gs_pairs[2 * g];
    tail[1] += bpair[2 * g + 1] * gs_pairs[2 * g + 1];
  }
  return _mm256_add_ps(a0, a1);
}
#endif

}  // namespace mlxlm::kernels::HWY_NAMESPACE
#if HWY_TARGET == HWY_AVX3_DL
MLXLM_AVX512_VNNI_END
#endif
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
