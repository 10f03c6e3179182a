// Prefill with float weights (F32 / F16 / BF16) as outer products: a panel of 2N weight rows (N
// f32 lanes) over KC columns is widened to f32 and stored column-major once, then each column
// step loads the panel's two vectors, broadcasts one value of each of up to 6 activation rows, and
// spends 12 FMAs on them. The dot-product tile (FloatTile) widens every weight vector again for
// each pass over the activations and needs 7 loads and 6 widening ops per 12 FMAs; here the
// widening is paid once per panel and the loop holds 12 accumulators, 2 weight vectors and a
// broadcast in AVX2's 16 registers. Included once per SIMD target by float_matmul_hwy.cc.
#if defined(MLXLM_KERNELS_FLOAT_PANEL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLXLM_KERNELS_FLOAT_PANEL_INL_H_
#undef MLXLM_KERNELS_FLOAT_PANEL_INL_H_
#else
#define MLXLM_KERNELS_FLOAT_PANEL_INL_H_
#endif

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include <hwy/highway.h>

#include "base/aligned_vector.h"
#include "kernels/hwy/float_widen-inl.h"

HWY_BEFORE_NAMESPACE();
namespace mlxlm::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Activation rows per micro-tile and panel columns per pass (a 2N x KC f32 panel: 16 KiB on
// AVX2, in L1 beside the activations' 6 x KC values).
constexpr int kPanelRowsM = 6;
constexpr int64_t kPanelCols = 256;
constexpr int64_t kPanelBlockRows = 40 * kPanelRowsM;

// c[i][col] += sum over the panel's kc columns of panel[kk][col] * xt[kk][i] for M activation
// rows (packed: xt[kk * M + i]) and col < 2N, c's rows 2N apart; `first`: c starts from zero.
template <int M>
HWY_INLINE void PanelTile(const float* panel, const float* xt, int64_t kc, float* c, bool first) {
  const DF df;
  const auto n = static_cast<int64_t>(hn::Lanes(df));
  VF acc[M][2];
  for (int i = 0; i < M; ++i) acc[i][0] = acc[i][1] = hn::Zero(df);
  for (int64_t kk = 0; kk < kc; ++kk) {
    const auto w0 = hn::Load(df, panel + kk * 2 * n);
    const auto w1 = hn::Load(df, panel + kk * 2 * n + n);
    for (int i = 0; i < M; ++i) {
      const auto xb = hn::Set(df, xt[kk * M + i]);
      acc[i][0] = hn::MulAdd(w0, xb, acc[i][0]);
      acc[i][1] = hn::MulAdd(w1, xb, acc[i][1]);
    }
  }
  for (int i = 0; i < M; ++i) {
    float* row = c + i * 2 * n;
    if (!first) {
      acc[i][0] = hn::Add(acc[i][0], hn::Load(df, row));
      acc[i][1] = hn::Add(acc[i][1], hn::Load(df, row + n));
    }
    hn::Store(acc[i][0], df, row);
    hn::Store(acc[i][1], df, row + n);
  }
}

// Calls f(std::integral_constant<int, M>()) for M = rows, 1 <= rows <= kPanelRowsM.
template <int M = 1, class F>
HWY_INLINE void WithTileRows(int64_t rows, const F& f) {
  if (rows == M) return f(std::integral_constant<int, M>());
  if constexpr (M < kPanelRowsM) WithTileRows<M + 1>(rows, f);
}

// panel[kk][c] = W[r + c][c0 + kk] for kk < kc, c < nr (column-major; rows past `valid` are
// zero), W's rows k values apart from `base`. AVX2: 8 rows x 8 columns at a time, transposed in
// registers.
template <class WT>
HWY_INLINE void PackPanel(const WT* base, int64_t k, int64_t r, int valid, int64_t c0, int64_t kc,
                          int64_t nr, float* panel) {
  int64_t kk0 = 0;
#if HWY_TARGET == HWY_AVX2
  for (; kk0 + 8 <= kc; kk0 += 8) {
    for (int g = 0; g < nr; g += 8) {
      __m256 v[8];
      for (int j = 0; j < 8; ++j) {
        v[j] = g + j < valid ? LoadW(DF(), base + (r + g + j) * k + c0 + kk0).raw
                             : _mm256_setzero_ps();
      }
      __m256 t[8], u[8];
      for (int j = 0; j < 8; j += 2) {
        t[j] = _mm256_unpacklo_ps(v[j], v[j + 1]);
        t[j + 1] = _mm256_unpackhi_ps(v[j], v[j + 1]);
      }
      for (int j = 0; j < 8; j += 4) {
        u[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);
        u[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xEE);
        u[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);
        u[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
      }
      // Column j of the 8 x 8 block: its low half from rows 0-3, its high half from rows 4-7.
      for (int j = 0; j < 4; ++j) {
        _mm256_store_ps(panel + (kk0 + j) * nr + g, _mm256_permute2f128_ps(u[j], u[4 + j], 0x20));
        _mm256_store_ps(panel + (kk0 + 4 + j) * nr + g,
                        _mm256_permute2f128_ps(u[j], u[4 + j], 0x31));
      }
    }
  }
#endif
  for (int64_t c = 0; c < nr; ++c) {
    for (int64_t kk = kk0; kk < kc; ++kk) {
      panel[kk * nr + c] = c < valid ? ScalarW(base + (r + c) * k + c0 + kk) : 0.0f;
    }
  }
}

// Rows [r0, r1) of y = x · Wᵀ (+ bias) for activation rows [0, m): W's rows `k` values apart
// from `base`, y's rows `n` values apart.
template <class WT>
HWY_INLINE void PanelRows(const float* x, int64_t m, const WT* base, int64_t k, int64_t n,
                          const float* bias, float* y, int64_t r0, int64_t r1) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const int64_t nr = 2 * lanes;
  thread_local AlignedVector<float> panel_buf;
  panel_buf.resize(static_cast<size_t>(nr * kPanelCols));
  float* panel = panel_buf.data();
  // Activation rows per block, packed per tile of kPanelRowsM rows as [kk][row] so that a tile's
  // broadcasts read one stream (six rows k values apart shared L1 sets and ran the tile at half
  // its speed). The block's KC columns (240 KiB) stay in L2 while every panel of this thread's
  // weight rows passes; a panel is widened once per block and column range.
  thread_local AlignedVector<float> xblock;
  xblock.resize(static_cast<size_t>(kPanelBlockRows * kPanelCols));
  // The block's sums, [panel][row][2N] (y's rows are often a multiple of 4 KiB apart, and a tile's
  // six of them then shared L1 sets).
  thread_local AlignedVector<float> cbuf;
  cbuf.resize(static_cast<size_t>(((r1 - r0 + nr - 1) / nr) * kPanelBlockRows * nr));
  for (int64_t i0 = 0; i0 < m; i0 += kPanelBlockRows) {
    const int64_t i1 = std::min(m, i0 + kPanelBlockRows);
    for (int64_t c0 = 0; c0 < k; c0 += kPanelCols) {
      const int64_t kc = std::min(kPanelCols, k - c0);
      for (int64_t t0 = i0; t0 < i1; t0 += kPanelRowsM) {
        const int64_t rows = std::min<int64_t>(kPanelRowsM, i1 - t0);
        float* xt = xblock.data() + (t0 - i0) * kc;
        for (int64_t i = 0; i < rows; ++i) {
          const float* src = x + (t0 + i) * k + c0;
          for (int64_t kk = 0; kk < kc; ++kk) xt[kk * rows + i] = src[kk];
        }
      }
      const bool first = c0 == 0;
      for (int64_t r = r0; r < r1; r += nr) {
        const int valid = static_cast<int>(std::min(nr, r1 - r));
        PackPanel(base, k, r, valid, c0, kc, nr, panel);
        float* cpanel = cbuf.data() + ((r - r0) / nr) * (i1 - i0) * nr;
        for (int64_t i = i0; i < i1; i += kPanelRowsM) {
          WithTileRows(std::min<int64_t>(kPanelRowsM, i1 - i), [&](auto rows_tag) {
            PanelTile<decltype(rows_tag)::value>(panel, xblock.data() + (i - i0) * kc, kc,
                                                 cpanel + (i - i0) * nr, first);
          });
        }
      }
    }
    // The block's sums, panel by panel, into y's rows (plus the bias).
    for (int64_t r = r0; r < r1; r += nr) {
      const int valid = static_cast<int>(std::min(nr, r1 - r));
      const float* cpanel = cbuf.data() + ((r - r0) / nr) * (i1 - i0) * nr;
      for (int64_t i = i0; i < i1; ++i) {
        const float* c = cpanel + (i - i0) * nr;
        for (int t = 0; t < valid; ++t) {
          y[i * n + r + t] = c[t] + (bias != nullptr ? bias[r + t] : 0.0f);
        }
      }
    }
  }
}

}  // namespace mlxlm::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
