// The tile product: blocks of 32 activation rows against panels of 32 weight rows, 2 x 2 tiles
// of 16 x 16 f32 accumulators holding y itself ([activation row][weight row]), the whole row
// length accumulated in the tiles.
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

// Where the accumulators start and end: y's own memory for whole tiles, else a local buffer
// whose valid part is copied out.
struct OutTile {
  float* p;
  int64_t stride;  // bytes
};

// Accumulators (i, j) = activation tile i x weight tile j, tmm(2i + j); A tiles tmm4-5, B tiles
// tmm6-7. `bias` (16 x 16 floats per weight tile, every row the same) or zero starts them.
template <int AT, int WT>
void tile_block(const char* a0, const char* a1, const char* w0, const char* w1, int64_t k_steps,
                const float* bias0, const float* bias1, const OutTile* out) {
  if (bias0 != nullptr) {
    MLXLM_TILE_LOAD(0, bias0, 0);
    if constexpr (WT == 2) MLXLM_TILE_LOAD(1, bias1, 0);
    if constexpr (AT == 2) MLXLM_TILE_LOAD(2, bias0, 0);
    if constexpr (AT == 2 && WT == 2) MLXLM_TILE_LOAD(3, bias1, 0);
  } else {
    MLXLM_TILE_ZERO(0);
    if constexpr (WT == 2) MLXLM_TILE_ZERO(1);
    if constexpr (AT == 2) MLXLM_TILE_ZERO(2);
    if constexpr (AT == 2 && WT == 2) MLXLM_TILE_ZERO(3);
  }
  for (int64_t s = 0; s < k_steps; ++s) {
    MLXLM_TILE_LOAD(4, a0 + s * kTileBytes, 64);
    MLXLM_TILE_LOAD(6, w0 + s * kTileBytes, 64);
    MLXLM_TILE_DP_BF16(0, 4, 6);
    if constexpr (WT == 2) {
      MLXLM_TILE_LOAD(7, w1 + s * kTileBytes, 64);
      MLXLM_TILE_DP_BF16(1, 4, 7);
    }
    if constexpr (AT == 2) {
      MLXLM_TILE_LOAD(5, a1 + s * kTileBytes, 64);
      MLXLM_TILE_DP_BF16(2, 5, 6);
      if constexpr (WT == 2) MLXLM_TILE_DP_BF16(3, 5, 7);
    }
  }
  MLXLM_TILE_STORE(0, out[0].p, out[0].stride);
  if constexpr (WT == 2) MLXLM_TILE_STORE(1, out[1].p, out[1].stride);
  if constexpr (AT == 2) MLXLM_TILE_STORE(2, out[2].p, out[2].stride);
  if constexpr (AT == 2 && WT == 2) MLXLM_TILE_STORE(3, out[3].p, out[3].stride);
}

// One panel of `rows` weight rows (tiles at w) against every activation block.
template <int WT>
void panel_times_acts(const PackedActs& x, const char* w, int64_t rows, const float* bias, float* y,
                      int64_t y_rows) {
  alignas(64) float bias_tiles[2][16];
  alignas(64) float spill[4][256];
  if (bias != nullptr) {
    for (int64_t r = 0; r < 32; ++r) bias_tiles[r / 16][r % 16] = r < rows ? bias[r] : 0.0f;
  }
  const float* b0 = bias != nullptr ? bias_tiles[0] : nullptr;
  const float* b1 = bias != nullptr ? bias_tiles[1] : nullptr;
  const auto* acts = reinterpret_cast<const char*>(x.data);
  const int64_t block_bytes = x.k_steps * kTileBytes;
  const char* w1 = w + block_bytes;
  for (int64_t blk = 0; blk < x.row_blocks; blk += 2) {
    const int at = blk + 1 < x.row_blocks ? 2 : 1;
    OutTile out[4];
    bool spilled = false;
    for (int i = 0; i < at; ++i) {
      for (int j = 0; j < WT; ++j) {
        const bool whole = (blk + i + 1) * 16 <= x.m && (j + 1) * 16 <= rows;
        spilled |= !whole;
        out[2 * i + j] = whole ? OutTile{y + (blk + i) * 16 * y_rows + j * 16, y_rows * 4}
                               : OutTile{spill[2 * i + j], 64};
      }
    }
    const char* a0 = acts + blk * block_bytes;
    if (at == 2) {
      tile_block<2, WT>(a0, a0 + block_bytes, w, w1, x.k_steps, b0, b1, out);
    } else {
      tile_block<1, WT>(a0, nullptr, w, w1, x.k_steps, b0, b1, out);
    }
    if (!spilled) continue;
    for (int i = 0; i < at; ++i) {
      for (int j = 0; j < WT; ++j) {
        if (out[2 * i + j].p != spill[2 * i + j]) continue;
        const int64_t n_i = std::min<int64_t>(16, x.m - (blk + i) * 16);
        const int64_t n_j = std::min<int64_t>(16, rows - j * 16);
        for (int64_t ii = 0; ii < n_i; ++ii) {
          float* dst = y + ((blk + i) * 16 + ii) * y_rows + j * 16;
          for (int64_t jj = 0; jj < n_j; ++jj) dst[jj] = spill[2 * i + j][ii * 16 + jj];
        }
      }
    }
  }
}

}  // namespace

void matmul_rows(const PackedActs& x, const WeightRef& w, const float* bias, float* y,
                 int64_t row_begin, int64_t row_end) {
  if (row_begin >= row_end || x.m == 0) return;
  load_full_tiles();
  thread_local AlignedVector<uint16_t> panel;
  panel.resize(static_cast<size_t>(2 * x.k_steps * 512));
  const auto* tiles = reinterpret_cast<const char*>(panel.data());
  for (int64_t r = row_begin; r < row_end; r += kPanelRows) {
    const int64_t rows = std::min(kPanelRows, row_end - r);
    weight_tiles_bf16(w, r, rows, x.k_steps, panel.data());
    const float* b = bias != nullptr ? bias + r : nullptr;
    if (rows > 16) {
      panel_times_acts<2>(x, tiles, rows, b, y + r, w.rows);
    } else {
      panel_times_acts<1>(x, tiles, rows, b, y + r, w.rows);
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
