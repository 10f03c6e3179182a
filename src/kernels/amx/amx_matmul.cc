// The tile product: panels of 32 weight rows against blocks of 32 activation rows, 2 x 2
// tiles of 16 x 16 f32 accumulators, the whole row length accumulated in the tiles.
#include <algorithm>
#include <vector>

#include "kernels/amx/amx.h"
#include "kernels/amx/weight_panel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/amx/tile_ops.h"

MLXLM_AMX_BEGIN
namespace mlxlm::kernels::amx {
namespace {

constexpr int64_t kTileBytes = 1024;  // 16 rows x 64 bytes

// c[RT * 16][TT * 16] = A (RT tiles of 16 weight rows, row stride lda bytes) times B (TT blocks
// of packed activations), over k_steps steps of 32 columns.
template <int RT, int TT>
void tile_block(const char* a, int64_t lda, const char* b0, const char* b1, int64_t k_steps,
                float* c) {
  MLXLM_TILE_ZERO(0);
  if constexpr (TT == 2) MLXLM_TILE_ZERO(1);
  if constexpr (RT == 2) MLXLM_TILE_ZERO(2);
  if constexpr (RT == 2 && TT == 2) MLXLM_TILE_ZERO(3);
  const char* a1 = a + 16 * lda;
  for (int64_t s = 0; s < k_steps; ++s) {
    MLXLM_TILE_LOAD(4, a + s * 64, lda);
    MLXLM_TILE_LOAD(6, b0 + s * kTileBytes, 64);
    if constexpr (TT == 2) MLXLM_TILE_LOAD(7, b1 + s * kTileBytes, 64);
    MLXLM_TILE_DP_BF16(0, 4, 6);
    if constexpr (TT == 2) MLXLM_TILE_DP_BF16(1, 4, 7);
    if constexpr (RT == 2) {
      MLXLM_TILE_LOAD(5, a1 + s * 64, lda);
      MLXLM_TILE_DP_BF16(2, 5, 6);
      if constexpr (TT == 2) MLXLM_TILE_DP_BF16(3, 5, 7);
    }
  }
  constexpr int64_t ldc = TT * 16 * 4;
  MLXLM_TILE_STORE(0, c, ldc);
  if constexpr (TT == 2) MLXLM_TILE_STORE(1, c + 16, ldc);
  if constexpr (RT == 2) MLXLM_TILE_STORE(2, c + 16 * TT * 16, ldc);
  if constexpr (RT == 2 && TT == 2) MLXLM_TILE_STORE(3, c + 16 * TT * 16 + 16, ldc);
}

template <int RT>
void panel_times_acts(const PackedActs& x, const char* a, int64_t lda, int64_t rows,
                      const float* bias, float* y, int64_t y_stride) {
  alignas(64) float c[32 * 32];
  const auto* acts = reinterpret_cast<const char*>(x.data);
  const int64_t block_bytes = x.k_steps * kTileBytes;
  for (int64_t blk = 0; blk < x.row_blocks; blk += 2) {
    const char* b0 = acts + blk * block_bytes;
    const bool two = blk + 1 < x.row_blocks;
    if (two) {
      tile_block<RT, 2>(a, lda, b0, b0 + block_bytes, x.k_steps, c);
    } else {
      tile_block<RT, 1>(a, lda, b0, nullptr, x.k_steps, c);
    }
    const int64_t ldc = two ? 32 : 16;
    const int64_t i_end = std::min<int64_t>(x.m, (blk + (two ? 2 : 1)) * 16);
    for (int64_t i = blk * 16; i < i_end; ++i) {
      const float* col = c + (i - blk * 16);
      float* out = y + i * y_stride;
      for (int64_t r = 0; r < rows; ++r) {
        out[r] = col[r * ldc] + (bias != nullptr ? bias[r] : 0.0f);
      }
    }
  }
}

}  // namespace

void matmul_rows(const PackedActs& x, const WeightRef& w, const float* bias, float* y,
                 int64_t row_begin, int64_t row_end) {
  if (row_begin >= row_end || x.m == 0) return;
  load_full_tiles();
  thread_local std::vector<uint16_t> panel;
  const int64_t ld = x.k_steps * 32;
  for (int64_t r = row_begin; r < row_end; r += kPanelRows) {
    const int64_t rows = std::min(kPanelRows, row_end - r);
    const int row_tiles = rows > 16 ? 2 : 1;
    const char* a = nullptr;
    int64_t lda = 0;
    if (w.format == WeightFormat::BF16 && w.cols % 32 == 0 && rows == row_tiles * 16) {
      lda = w.cols * 2;  // bf16 weights are tiles already
      a = static_cast<const char*>(w.data) + r * lda;
    } else {
      panel.resize(static_cast<size_t>(row_tiles * 16 * ld));
      weight_rows_bf16(w, r, rows, panel.data(), ld);
      std::fill(panel.begin() + rows * ld, panel.end(), uint16_t{0});
      lda = ld * 2;
      a = reinterpret_cast<const char*>(panel.data());
    }
    const float* b = bias != nullptr ? bias + r : nullptr;
    if (row_tiles == 2) {
      panel_times_acts<2>(x, a, lda, rows, b, y + r, w.rows);
    } else {
      panel_times_acts<1>(x, a, lda, rows, b, y + r, w.rows);
    }
  }
  MLXLM_TILE_RELEASE();
}

}  // namespace mlxlm::kernels::amx
MLXLM_AMX_END

#else
namespace mlxlm::kernels::amx {
void matmul_rows(const PackedActs&, const WeightRef&, const float*, float*, int64_t, int64_t) {}
}  // namespace mlxlm::kernels::amx
#endif
