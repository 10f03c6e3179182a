// The bf16 product of amx.h on AVX512_BF16 (`vdpbf16ps`), for CPUs without AMX tiles (Zen 4/5):
// the same weight panels (weight_panel.h: row p of a tile holds columns 2p, 2p + 1 of 16 weight
// rows) and packed activations (PackedActs). One activation row's pair of columns, broadcast,
// times a panel tile's row p adds to 16 outputs of that activation row at once, so the f32
// accumulators are rows of y itself, held in registers over the whole row length: eight
// activation rows by two 16-row weight tiles.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "base/aligned_vector.h"
#include "kernels/amx/amx.h"
#include "kernels/amx/weight_panel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/amx/tile_ops.h"

MLXLM_AMX_BEGIN

namespace mlxlm::kernels::amx {
namespace {

constexpr int kActRows = 8;           // activation rows per register block
constexpr int64_t kTileHalves = 512;  // bf16 values per 16 x 32 tile

// y rows [i0, i0 + n) of activation block `blk` for the panel's first `rows` rows (WT tiles).
template <int WT>
void act_rows(const PackedActs& x, const uint16_t* panel, int64_t blk, int64_t i0, int64_t n,
              int64_t rows, const __m512* bias, float* y, int64_t y_rows) {
  __m512 acc[kActRows][WT];
  for (auto& row : acc) {
    for (auto& v : row) v = _mm512_setzero_ps();
  }
  const uint16_t* a = x.data + blk * x.k_steps * kTileHalves + i0 * 32;
  for (int64_t s = 0; s < x.k_steps; ++s) {
    const uint16_t* at = a + s * kTileHalves;
    const uint16_t* wt = panel + s * kTileHalves;
    for (int p = 0; p < 16; ++p) {
      __m512i b[WT];
      for (int j = 0; j < WT; ++j) {
        b[j] = _mm512_loadu_si512(wt + j * x.k_steps * kTileHalves + p * 32);
      }
      for (int i = 0; i < kActRows; ++i) {
        int32_t pair;
        std::memcpy(&pair, at + i * 32 + 2 * p, 4);
        const __m512i av = _mm512_set1_epi32(pair);
        for (int j = 0; j < WT; ++j) {
          acc[i][j] = _mm512_dpbf16_ps(acc[i][j], (__m512bh)av, (__m512bh)b[j]);
        }
      }
    }
  }
  for (int j = 0; j < WT; ++j) {
    const int64_t cols = std::min<int64_t>(16, rows - 16 * j);
    const auto mask = static_cast<__mmask16>((1u << cols) - 1);
    for (int64_t i = 0; i < n; ++i) {
      _mm512_mask_storeu_ps(y + (blk * 16 + i0 + i) * y_rows + 16 * j, mask,
                            _mm512_add_ps(acc[i][j], bias[j]));
    }
  }
}

}  // namespace

void dpbf16_matmul_rows(const PackedActs& x, const WeightRef& w, const float* bias, float* y,
                        int64_t row_begin, int64_t row_end) {
  if (row_begin >= row_end || x.m == 0) return;
  thread_local AlignedVector<uint16_t> panel;
  panel.resize(static_cast<size_t>(2 * x.k_steps * kTileHalves));
  for (int64_t r = row_begin; r < row_end; r += kPanelRows) {
    const int64_t rows = std::min(kPanelRows, row_end - r);
    weight_tiles_bf16(w, r, rows, x.k_steps, panel.data());
    __m512 b[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int j = 0; j < 2 && bias != nullptr && 16 * j < rows; ++j) {
      const int64_t cols = std::min<int64_t>(16, rows - 16 * j);
      b[j] = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << cols) - 1), bias + r + 16 * j);
    }
    for (int64_t blk = 0; blk < x.row_blocks; ++blk) {
      const int64_t in_block = std::min<int64_t>(16, x.m - blk * 16);
      // Rows past m are zero in the packed activations: computed, not stored.
      for (int64_t i0 = 0; i0 < in_block; i0 += kActRows) {
        const int64_t n = std::min<int64_t>(kActRows, in_block - i0);
        if (rows > 16) {
          act_rows<2>(x, panel.data(), blk, i0, n, rows, b, y + r, w.rows);
        } else {
          act_rows<1>(x, panel.data(), blk, i0, n, rows, b, y + r, w.rows);
        }
      }
    }
  }
}

}  // namespace mlxlm::kernels::amx
MLXLM_AMX_END

#else
namespace mlxlm::kernels::amx {
void dpbf16_matmul_rows(const PackedActs&, const WeightRef&, const float*, float*, int64_t,
                        int64_t) {}
}  // namespace mlxlm::kernels::amx
#endif
