// y = x · Wᵀ for F32 / F16 / BF16 weights: weights are widened to f32 in registers and never
// copied; a tile of weight rows is reused across several activation rows during prefill.
#include <algorithm>
#include <cstring>

#include "kernels/hwy/dispatch.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/hwy/float_matmul_hwy.cc"
#include <hwy/cache_control.h>
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "kernels/hwy/float_panel-inl.h"
#include "kernels/hwy/float_widen-inl.h"

HWY_BEFORE_NAMESPACE();
namespace mlxlm::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// out[r * M + i] = dot(w[r], x[i]) over k values. kStream: the tile's rows are read from DRAM
// for the only time (all activation rows in this one pass), so prefetch ahead.
template <int R, int M, bool kStream, class WT>
HWY_INLINE void FloatTile(const WT* const* w, const float* const* x, int64_t k, float* out) {
  const DF df;
  const auto n = static_cast<int64_t>(hn::Lanes(df));
  VF acc[R][M];
  for (int r = 0; r < R; ++r) {
    for (int i = 0; i < M; ++i) acc[r][i] = hn::Zero(df);
  }
  // Decoding streams the weights from DRAM once: prefetch the same columns of the next tile's
  // rows (R rows on), across the page boundaries where the hardware prefetchers stop. A fixed
  // 16 KiB ahead did that for rows of 2048 bf16 values, but for wider rows it fell inside the
  // tile being read: the down projection's 8192-wide rows streamed at 70 % of the narrow ones.
  const int64_t ahead = R * k;
  int64_t j = 0;
  for (; j + n <= k; j += n) {
    VF wv[R];
    for (int r = 0; r < R; ++r) {
      if constexpr (kStream) hwy::Prefetch(w[r] + j + ahead);
      wv[r] = LoadW(df, w[r] + j);
    }
    for (int i = 0; i < M; ++i) {
      const VF xv = hn::LoadU(df, x[i] + j);
      for (int r = 0; r < R; ++r) acc[r][i] = hn::MulAdd(wv[r], xv, acc[r][i]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int i = 0; i < M; ++i) {
      float s = hn::GetLane(hn::SumOfLanes(df, acc[r][i]));
      for (int64_t t = j; t < k; ++t) s += ScalarW(w[r] + t) * x[i][t];
      out[r * M + i] = s;
    }
  }
}

// Weight rows r .. r + R against activation rows [i0, i1), kM of them per pass over the rows.
template <int R, int kM, bool kStream, class WT>
HWY_INLINE void RowTile(const WT* base, int64_t r, const float* x, int64_t i0, int64_t i1,
                        int64_t k, int64_t n, const float* bias, float* y) {
  const WT* w[R];
  for (int t = 0; t < R; ++t) w[t] = base + (r + t) * k;
  int64_t i = i0;
  for (; i + kM <= i1; i += kM) {
    const float* xs[kM];
    for (int t = 0; t < kM; ++t) xs[t] = x + (i + t) * k;
    float out[R * kM];
    FloatTile<R, kM, kStream>(w, xs, k, out);
    for (int rr = 0; rr < R; ++rr) {
      const float b = bias != nullptr ? bias[r + rr] : 0.0f;
      for (int t = 0; t < kM; ++t) y[(i + t) * n + r + rr] = out[rr * kM + t] + b;
    }
  }
  for (; i < i1; ++i) {
    const float* xs[1] = {x + i * k};
    float out[R];
    FloatTile<R, 1, false>(w, xs, k, out);
    for (int rr = 0; rr < R; ++rr) {
      y[i * n + r + rr] = out[rr] + (bias != nullptr ? bias[r + rr] : 0.0f);
    }
  }
}

// Up to 4 activation rows (decoding, speculative verification, small batches): all of them in
// one pass, so each weight row streams from DRAM and is widened once. R * M accumulators plus R
// weight vectors fit AVX2's 16 registers. Two passes (2 + 1 rows) made the verification of two
// drafts cost 1.4-1.6x one token's pass on bf16 weights, where the weight stream alone sets it.
template <int R, int M, class WT>
void SmallBatchRows(const WT* base, const float* x, int64_t k, int64_t n, const float* bias,
                    float* y, int64_t r0, int64_t r1) {
  int64_t r = r0;
  for (; r + R <= r1; r += R) RowTile<R, M, true>(base, r, x, 0, M, k, n, bias, y);
  for (; r < r1; ++r) RowTile<1, M, true>(base, r, x, 0, M, k, n, bias, y);
}

template <class WT>
void FloatRowsT(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y,
                int64_t r0, int64_t r1) {
  const auto* base = static_cast<const WT*>(w.data);
  const int64_t k = w.cols;
  const int64_t n = w.rows;
  switch (m) {
    case 1:
      return SmallBatchRows<4, 1>(base, x, k, n, bias, y, r0, r1);
    case 2:
      return SmallBatchRows<4, 2>(base, x, k, n, bias, y, r0, r1);
    case 3:
      return SmallBatchRows<3, 3>(base, x, k, n, bias, y, r0, r1);
    case 4:
      return SmallBatchRows<2, 4>(base, x, k, n, bias, y, r0, r1);
    default:
      break;
  }
  // Long prompts: outer products over widened panels (float_panel-inl.h), whose widening and
  // transposing pays off once a panel serves this many activation rows.
  if (m >= simd::kFloatPanelMinRows && HWY_TARGET == HWY_AVX2) {
    return PanelRows(x, m, base, k, n, bias, y, r0, r1);
  }
  // Activation rows per pass: keep them in L2 while the weight tile streams past. Tiles of 3
  // weight x 4 activation rows: 12 accumulators, and 7 loads (3 widened) per 12 FMAs, where 4 x 2
  // spent 6 (4 widened) per 8 and was bound by them, not by the FMAs (Zen 3, bf16, m = 512:
  // 20.5-24.0 -> 24.7-29.8 G multiply-adds/s; 1B bf16 prompt of 256: 47.7 -> 59.5 tokens/s).
  const int64_t mc = std::max<int64_t>(4, (256 << 10) / (k * 4));
  for (int64_t i0 = 0; i0 < m; i0 += mc) {
    const int64_t i1 = std::min(m, i0 + mc);
    int64_t r = r0;
    for (; r + 3 <= r1; r += 3) RowTile<3, 4, false>(base, r, x, i0, i1, k, n, bias, y);
    for (; r < r1; ++r) RowTile<1, 4, false>(base, r, x, i0, i1, k, n, bias, y);
  }
}

void MatmulFloatRows(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y,
                     int64_t r0, int64_t r1) {
  switch (w.format) {
    case WeightFormat::F32:
      return FloatRowsT<float>(x, m, w, bias, y, r0, r1);
    case WeightFormat::F16:
      return FloatRowsT<hwy::float16_t>(x, m, w, bias, y, r0, r1);
    case WeightFormat::BF16:
      return FloatRowsT<hwy::bfloat16_t>(x, m, w, bias, y, r0, r1);
    default:
      return;
  }
}

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace mlxlm::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mlxlm::kernels::simd {

HWY_EXPORT(MatmulFloatRows);
HWY_EXPORT(TargetName);

void matmul_float_rows(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y,
                       int64_t row_begin, int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(MatmulFloatRows)(x, m, w, bias, y, row_begin, row_end);
}

const char* active_target_name() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }

}  // namespace mlxlm::kernels::simd
#endif
