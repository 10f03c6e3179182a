// 4- and 8-bit weight rows one at a time, for decoding one sequence (fewer than 4 activation rows;
// 8-bit products of any size on AVX-512 VNNI): each thread then reads its rows as one sequential
// stream. Two rows read side by side (1-2 KiB apart for k = 2048) stream 20-30 % slower from DRAM
// on Zen 5 and Zen 3 alike, as the hardware prefetchers lose such short interleaved streams.
// Included once per SIMD target by quant_matmul_hwy.cc.
#if defined(MLXLM_KERNELS_SINGLE_ROWS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLXLM_KERNELS_SINGLE_ROWS_INL_H_
#undef MLXLM_KERNELS_SINGLE_ROWS_INL_H_
#else
#define MLXLM_KERNELS_SINGLE_ROWS_INL_H_
#endif

#include <algorithm>
#include <vector>

#include <hwy/highway.h>

#include "kernels/hwy/avx512_vnni.h"
#include "kernels/hwy/quant_codes.h"
#include "kernels/hwy/quant_scales-inl.h"
#include "kernels/hwy/x86_int8-inl.h"
#include "kernels/quant_acts.h"
#include "kernels/weight.h"

HWY_BEFORE_NAMESPACE();
#if HWY_TARGET == HWY_AVX3_DL
MLXLM_AVX512_VNNI_BEGIN
#endif
namespace mlxlm::kernels::HWY_NAMESPACE {
namespace q = qdetail;

// Activation rows per pass: a slice of int8 activations that stays in L2 while the weight
// rows stream past once per slice.
inline int64_t ActSliceRows(const QuantizedActs& a) {
  return std::max<int64_t>(4, (256 << 10) / a.k);
}

#if MLXLM_VNNI
// Whether SingleRows takes a 4- or 8-bit product: groups of 32, 64 or 128 values (and whole
// block pairs for 4 bits, whose activations come in pairs), and rows long enough that the
// sequential stream pays for the per-row work a pair of rows would share (scales, reductions,
// bias term): on Zen 5 single rows lose below 1024 columns (k = 576, m = 1: 4-bit 37 -> 28,
// 8-bit 33 -> 25 G multiply-adds/s) and win at 2048 from DRAM. Products of 4 or more activation
// rows take the weight rows in lanes first (row_lanes-inl.h).
template <int F>
HWY_INLINE bool SingleRowsApply(const QuantizedActs& a) {
  if (a.group < 32 || a.group > 128 || a.k < 1024) return false;
  return F == 8 || (a.m < 4 && (a.k / kActBlock) % 2 == 0);
}

// out[i] = sum over blocks of scale_g * xscale_b(i) * dot(codes, xq_i) plus the bias term
// sum_g brow_g * group_sum_g(i), for one 4- or 8-bit row and activation rows i0 .. i0 + M.
template <int F, int M>
HWY_INLINE void SingleRowTile(const uint8_t* codes, const QuantizedActs& a, int64_t i0, int shift,
                              const LaneBlocks& lanes, const float* wrow, const float* brow,
                              float* out) {
  const int64_t nb = a.k / kActBlock;
  const int8_t* xq[M];
  const float* xs[M];
  __m512 wide[M];
  __m256 narrow[M];
  for (int i = 0; i < M; ++i) {
    xq[i] = a.q + (i0 + i) * a.k;
    xs[i] = a.scale + (i0 + i) * nb;
    wide[i] = _mm512_setzero_ps();
    narrow[i] = _mm256_setzero_ps();
  }
  int64_t b = 0;
  if constexpr (F == 4) {
    for (; b + 8 <= nb; b += 8) NibbleOct<M>(codes, xq, xs, b, wrow, shift, lanes, wide);
    for (; b < nb; b += 2) NibblePair<M>(codes, xq, xs, b, wrow, shift, narrow);
  } else {
    for (; b + 4 <= nb; b += 4) ByteQuad<M>(codes, xq, xs, b, wrow, shift, lanes, wide);
    for (; b < nb; ++b) ByteBlock<M>(codes, xq, xs, b, wrow, shift, narrow);
  }
  const int64_t groups = a.k / a.group;
  for (int i = 0; i < M; ++i) {
    const float* gs = a.group_sum + (i0 + i) * groups;
    int64_t g = 0;
    for (; g + 16 <= groups; g += 16) {
      wide[i] = _mm512_fmadd_ps(_mm512_loadu_ps(brow + g), _mm512_loadu_ps(gs + g), wide[i]);
    }
    const auto rest = static_cast<__mmask16>((1u << (groups - g)) - 1);
    wide[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(rest, brow + g),
                              _mm512_maskz_loadu_ps(rest, gs + g), wide[i]);
    out[i] = _mm512_reduce_add_ps(wide[i]) + HSum(narrow[i]);
  }
}

// 4- and 8-bit rows [r0, r1) one at a time, so that each thread reads its rows as one
// sequential stream: two rows read side by side (1-2 KiB apart for k = 2048) stream 20-30 %
// slower from DRAM on Zen 5, as the hardware prefetchers lose such short interleaved streams.
template <int F, DType SD>
void SingleRows(const QuantizedActs& a, const WeightRef& w, const float* bias, float* y, int64_t r0,
                int64_t r1) {
  const int64_t groups = a.k / a.group;
  const int shift = GroupShift(a);
  const LaneBlocks lanes = F == 4 ? NibbleLanes(shift) : ByteLanes(shift);
  float stack_scales[2 * 1024];
  float* wrow = FloatScratch(2 * groups, stack_scales, 2 * 1024);
  float* brow = wrow + groups;
  const int64_t mc = ActSliceRows(a);
  for (int64_t i0 = 0; i0 < a.m; i0 += mc) {
    const int64_t i1 = std::min(a.m, i0 + mc);
    for (int64_t r = r0; r < r1; ++r) {
      const auto* codes = static_cast<const uint8_t*>(w.data) + r * (w.cols * F / 8);
      RowF32<SD>(w.scales, r, groups, wrow);
      RowF32<SD>(w.biases, r, groups, brow);
      FoldShiftedCodes<F>(wrow, groups, brow);
      auto finish = [&](int64_t i, float dot) {
        y[i * w.rows + r] = dot + (bias != nullptr ? bias[r] : 0.0f);
      };
      int64_t i = i0;
      for (; i + 4 <= i1; i += 4) {
        float out[4];
        SingleRowTile<F, 4>(codes, a, i, shift, lanes, wrow, brow, out);
        for (int u = 0; u < 4; ++u) finish(i + u, out[u]);
      }
      // The 1-3 rows left in one more pass (speculative verification has 2-4 in all).
      float out[3];
      switch (i1 - i) {
        case 3:
          SingleRowTile<F, 3>(codes, a, i, shift, lanes, wrow, brow, out);
          break;
        case 2:
          SingleRowTile<F, 2>(codes, a, i, shift, lanes, wrow, brow, out);
          break;
        case 1:
          SingleRowTile<F, 1>(codes, a, i, shift, lanes, wrow, brow, out);
          break;
        default:
          break;
      }
      for (int u = 0; i + u < i1; ++u) finish(i + u, out[u]);
    }
  }
}
#endif

#if MLXLM_X86_INT8 && !MLXLM_VNNI
// Whether SingleRows takes a 4- or 8-bit product on AVX2: groups of 32, 64 or 128 values, whole
// block pairs (a step's unit), fewer than 4 activation rows (more take the weight rows in lanes,
// row_lanes_avx2-inl.h, or the row-pair tiles), and rows long enough for the sequential stream
// to pay for the per-row work a pair would share. On Zen 3, 4-bit rows of 576 columns decode
// faster in pairs (SmolLM2-135M: 246-275 against 238-255 tokens/s) and 8-bit ones singly
// (163-177 against 141-159), so 4-bit rows take it from 1024 columns and 8-bit ones from 512.
template <int F>
HWY_INLINE bool SingleRowsApply(const QuantizedActs& a) {
  return (F == 4 || F == 8) && a.group >= 32 && a.group <= 128 && a.k >= (F == 8 ? 512 : 1024) &&
         a.m < 4 && (a.k / kActBlock) % 2 == 0;
}

// The activations' block scales as a step's f32 lanes take them, 8 floats per activation row and
// block pair: 4-bit [xscale_b x 4, xscale_b+1 x 4], 8-bit [xscale_b, xscale_b+1] x 4. A step
// loads them instead of building them from two broadcasts (5.6 -> 5.0 cycles a 4-bit step in L1
// on Zen 3). Built once per call: k / 8 floats per activation row.
template <int F>
inline const float* StepScales(const QuantizedActs& a) {
  thread_local std::vector<float> lanes;
  const int64_t n = a.m * (a.k / kActBlock);
  lanes.resize(4 * n);
  for (int64_t j = 0; j < n; j += 2) {
    const __m128 lo = _mm_set1_ps(a.scale[j]), hi = _mm_set1_ps(a.scale[j + 1]);
    float* out = lanes.data() + 4 * j;
    if constexpr (F == 4) {
      _mm_storeu_ps(out, lo);
      _mm_storeu_ps(out + 4, hi);
    } else {
      _mm_storeu_ps(out, _mm_unpacklo_ps(lo, hi));
      _mm_storeu_ps(out + 4, _mm_unpacklo_ps(lo, hi));
    }
  }
  return lanes.data();
}

// The weight scales of blocks b and b + 1 in the lanes StepScales gives them. kGroup32: one
// weight group per block, else both blocks fall in one group.
template <int F, bool kGroup32>
HWY_INLINE __m256 StepWeightScales(const float* wrow, int64_t b, int shift) {
  if constexpr (!kGroup32) {
    return _mm256_broadcast_ss(wrow + (b >> shift));
  } else if constexpr (F == 4) {
    return _mm256_set_m128(_mm_broadcast_ss(wrow + b + 1), _mm_broadcast_ss(wrow + b));
  } else {
    return _mm256_castpd_ps(_mm256_broadcast_sd(reinterpret_cast<const double*>(wrow + b)));
  }
}

// A step's weight operands (blocks b and b + 1 of a row, `c`: the row's codes), made once for
// every activation row. 4-bit: one 32-byte load, low nibbles against the even values and high
// against the odd (CodeOrder::Nibbles); 8-bit: codes shifted to signed (kShift8) and their
// absolute values.
template <int F>
struct StepCodes {
  __m256i w0, w1, u0, u1;
};

template <int F>
HWY_INLINE StepCodes<F> LoadStep(const uint8_t* c, int64_t b) {
  auto load = [](const void* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); };
  StepCodes<F> s;
  if constexpr (F == 4) {
    const __m256i m = _mm256_set1_epi8(0x0F);
    const __m256i v = load(c + b * 16);
    s.w0 = _mm256_and_si256(v, m);
    s.w1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
  } else {
    const __m256i flip = _mm256_set1_epi8(-128);
    s.w0 = _mm256_xor_si256(load(c + b * 32), flip);
    s.w1 = _mm256_xor_si256(load(c + b * 32 + 32), flip);
    s.u0 = _mm256_abs_epi8(s.w0);
    s.u1 = _mm256_abs_epi8(s.w1);
  }
  return s;
}

// The step's int32 partial dots against activation row x; 8-bit: the two blocks' sums folded
// into one vector (FoldRows).
template <int F>
HWY_INLINE __m256i StepDots(const StepCodes<F>& s, const int8_t* x, int64_t b) {
  auto load = [](const void* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); };
  if constexpr (F == 4) {
    return DotPair<false>(s.w0, s.w0, load(x + b * 32), s.w1, s.w1, load(x + b * 32 + 32));
  } else {
    return FoldRows(DotBlock<true>(s.u0, s.w0, load(x + b * 32)),
                    DotBlock<true>(s.u1, s.w1, load(x + b * 32 + 32)));
  }
}

// One row (`codes`, its group scales `wrow` and bias coefficients `brow` as f32) against
// activation rows i0 .. i0 + M: per row, the sum over blocks of scale_g * xscale_b * dot plus
// sum_g brow_g * group_sum_g. The step's codes are loaded and unpacked once for all M rows:
// speculative verification (the last token and 1-3 drafts) then streams the weights about as
// fast as one token does, where a pass per activation row made it 1.8-2.5x slower (4-bit).
template <int F, bool kGroup32, int M>
HWY_INLINE void RowDots(const uint8_t* codes, const QuantizedActs& a, int64_t i0,
                        const float* step_scales, const float* wrow, const float* brow, int shift,
                        float* out) {
  const int64_t nb = a.k / kActBlock, groups = a.k / a.group;
  constexpr int64_t kLineBlocks = 64 / q::block_bytes(F);  // blocks per cache line
  const int8_t* x[M];
  const float* xs[M];
  // Two accumulators per activation row: one FMA chain would bound the loop by its latency.
  __m256 acc[M][2];
  for (int i = 0; i < M; ++i) {
    x[i] = a.q + (i0 + i) * a.k;
    xs[i] = step_scales + (i0 + i) * nb * 4;
    acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  }
  auto step = [&](int64_t b, int parity) {
    const StepCodes<F> c = LoadStep<F>(codes, b);
    const __m256 ws = StepWeightScales<F, kGroup32>(wrow, b, shift);
    for (int i = 0; i < M; ++i) {
      const __m256 scale = _mm256_mul_ps(_mm256_loadu_ps(xs[i] + 4 * b), ws);
      acc[i][parity] =
          _mm256_fmadd_ps(_mm256_cvtepi32_ps(StepDots<F>(c, x[i], b)), scale, acc[i][parity]);
    }
  };
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    for (int64_t line = 0; line < 4; line += kLineBlocks) {
      _mm_prefetch(
          reinterpret_cast<const char*>(codes + (b + line) * q::block_bytes(F) + kPrefetchBytes),
          _MM_HINT_T0);
    }
    step(b, 0);
    step(b + 2, 1);
  }
  if (b < nb) step(b, 0);
  for (int i = 0; i < M; ++i) {
    const float* gs = a.group_sum + (i0 + i) * groups;
    __m256 sum = acc[i][0];
    int64_t g = 0;
    for (; g + 8 <= groups; g += 8) {
      sum = _mm256_fmadd_ps(_mm256_loadu_ps(brow + g), _mm256_loadu_ps(gs + g), sum);
    }
    float tail = 0.0f;
    for (; g < groups; ++g) tail += brow[g] * gs[g];
    out[i] = HSum(_mm256_add_ps(sum, acc[i][1])) + tail;
  }
}

// RowDots for all of a product's activation rows (1-3: SingleRowsApply).
template <int F, bool kGroup32>
HWY_INLINE void RowAllDots(const uint8_t* codes, const QuantizedActs& a, const float* step_scales,
                           const float* wrow, const float* brow, int shift, float* out) {
  switch (a.m) {
    case 1:
      return RowDots<F, kGroup32, 1>(codes, a, 0, step_scales, wrow, brow, shift, out);
    case 2:
      return RowDots<F, kGroup32, 2>(codes, a, 0, step_scales, wrow, brow, shift, out);
    default:
      return RowDots<F, kGroup32, 3>(codes, a, 0, step_scales, wrow, brow, shift, out);
  }
}

// 4- or 8-bit rows [r0, r1) one at a time against every activation row.
template <int F, DType SD>
void SingleRows(const QuantizedActs& a, const WeightRef& w, const float* bias, float* y, int64_t r0,
                int64_t r1) {
  const int64_t groups = a.k / a.group;
  const int shift = GroupShift(a);
  float stack_scales[2 * 1024];
  float* wrow = FloatScratch(2 * groups, stack_scales, 2 * 1024);
  float* brow = wrow + groups;
  const float* step_scales = StepScales<F>(a);
  for (int64_t r = r0; r < r1; ++r) {
    const auto* codes = static_cast<const uint8_t*>(w.data) + r * (w.cols * F / 8);
    RowF32<SD>(w.scales, r, groups, wrow);
    RowF32<SD>(w.biases, r, groups, brow);
    FoldShiftedCodes<F>(wrow, groups, brow);
    float dots[3];
    if (shift == 0) {
      RowAllDots<F, true>(codes, a, step_scales, wrow, brow, 0, dots);
    } else {
      RowAllDots<F, false>(codes, a, step_scales, wrow, brow, shift, dots);
    }
    for (int64_t i = 0; i < a.m; ++i) {
      y[i * w.rows + r] = dots[i] + (bias != nullptr ? bias[r] : 0.0f);
    }
  }
}
#endif

}  // namespace mlxlm::kernels::HWY_NAMESPACE
#if HWY_TARGET == HWY_AVX3_DL
MLXLM_AVX512_VNNI_END
#endif
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
