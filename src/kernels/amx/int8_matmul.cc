// The integer tile product (amx.h int8_matmul_rows): panels of 32 weight rows whose codes are
// the unsigned A tiles, against blocks of 32 activation rows. Every 64-column step is one
// `tdpbusd` per pair of tiles; its int32 sums are scaled by the weight and activation scales
// into f32 accumulators [weight row][activation row] that stay in L1, and the group biases
// enter through the activation sums: y = sum_steps ws * xs * (codes . xq) + wb * sum(x).
#include <algorithm>
#include <cstdint>

#include "kernels/amx/amx.h"
#include "kernels/amx/int8_panel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/amx/tile_ops.h"

MLXLM_AMX_BEGIN

namespace mlxlm::kernels::amx {
namespace {

template <int WT, int AT>
void rescale(const Int8Panel& p, const Int8Acts& x, int64_t blk, int64_t s,
             const int32_t (*sums)[256], float* acc) {
  const int64_t steps = x.k_blocks;
  const float* ws = p.scale.data() + s;  // row r at [r * steps]
  const float* wb = p.bias.data() + s;
  for (int j = 0; j < AT; ++j) {
    const int64_t at = ((blk + j) * steps + s) * 16;
    const __m512 xs = _mm512_loadu_ps(x.scale + at);
    const __m512 xsum = _mm512_loadu_ps(x.sum + at);
    for (int i = 0; i < WT; ++i) {
      const int32_t* c = sums[2 * i + j];
      for (int r = 0; r < 16; ++r) {
        const int row = 16 * i + r;
        float* a = acc + row * 32 + 16 * j;
        __m512 v = _mm512_load_ps(a);
        v = _mm512_fmadd_ps(xsum, _mm512_set1_ps(wb[row * steps]), v);
        v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c + 16 * r)),
                            _mm512_mul_ps(xs, _mm512_set1_ps(ws[row * steps])), v);
        _mm512_store_ps(a, v);
      }
    }
  }
}

// acc[32 weight rows][32 activation rows] for activation tiles (blk, blk + 1) x weight tiles
// 0, 1 (AT, WT of them present): tile (i, j) = weight tile i x activation tile j in tmm(2i + j).
// A step's sums are rescaled while the next step's tile products run (two sum buffers): read
// right after the tile store, they would stall on it.
// The next panel's codes, fetched a few lines per step while this panel multiplies. Decoding
// batches read every weight from DRAM once per step, and unpacking a panel that is not in the
// caches stalls on every line: the loads never overlapped the tile products.
struct Prefetch {
  const char* next = nullptr;
  int64_t lines_left = 0;
  int64_t lines_per_step = 0;
  void step() {
    for (int64_t i = 0; i < lines_per_step && lines_left > 0; ++i, --lines_left, next += 64) {
      _mm_prefetch(next, _MM_HINT_T0);
    }
  }
};

template <int WT, int AT>
void block(Int8Panel& p, const Int8Acts& x, int64_t blk, float* acc, Prefetch& pf) {
  alignas(64) int32_t sums[2][4][256];
  for (int i = 0; i < 32 * 32; i += 16) _mm512_store_ps(acc + i, _mm512_setzero_ps());
  const int64_t steps = x.k_blocks;
  const uint8_t* w0 = p.tiles[0];
  const uint8_t* w1 = p.tiles[1];
  const int64_t ws = p.stride, wstep = p.step_bytes;
  const int8_t* a0 = x.q + blk * steps * kTileBytes;
  const int8_t* a1 = a0 + steps * kTileBytes;
  if (p.packed != nullptr) unpack_int8_step(p, 0, p.jit[0]);
  for (int64_t s = 0; s < steps; ++s) {
    int32_t(*out)[256] = sums[s & 1];
    pf.step();
    if (p.packed != nullptr) {
      w0 = p.jit[s & 1];
      w1 = w0 + kTileBytes;
    }
    MLXLM_TILE_LOAD(4, w0 + s * wstep, ws);
    MLXLM_TILE_LOAD(6, a0 + s * kTileBytes, 64);
    MLXLM_TILE_ZERO(0);
    MLXLM_TILE_DP_U8S8(0, 4, 6);
    if constexpr (AT == 2) {
      MLXLM_TILE_LOAD(7, a1 + s * kTileBytes, 64);
      MLXLM_TILE_ZERO(1);
      MLXLM_TILE_DP_U8S8(1, 4, 7);
    }
    if constexpr (WT == 2) {
      MLXLM_TILE_LOAD(5, w1 + s * wstep, ws);
      MLXLM_TILE_ZERO(2);
      MLXLM_TILE_DP_U8S8(2, 5, 6);
      if constexpr (AT == 2) {
        MLXLM_TILE_ZERO(3);
        MLXLM_TILE_DP_U8S8(3, 5, 7);
      }
    }
    MLXLM_TILE_STORE(0, out[0], 64);
    if constexpr (AT == 2) MLXLM_TILE_STORE(1, out[1], 64);
    if constexpr (WT == 2) MLXLM_TILE_STORE(2, out[2], 64);
    if constexpr (WT == 2 && AT == 2) MLXLM_TILE_STORE(3, out[3], 64);
    if (p.packed != nullptr && s + 1 < steps) {
      unpack_int8_step(p, s + 1, p.jit[(s + 1) & 1]);
    }
    if (s > 0) rescale<WT, AT>(p, x, blk, s - 1, sums[(s - 1) & 1], acc);
  }
  rescale<WT, AT>(p, x, blk, steps - 1, sums[(steps - 1) & 1], acc);
}

}  // namespace

void int8_matmul_rows(const Int8Acts& x, const WeightRef& w, const float* bias, float* y,
                      int64_t row_begin, int64_t row_end) {
  if (row_begin >= row_end || x.m == 0) return;
  load_full_tiles();
  thread_local Int8Panel panel;
  alignas(64) float acc[32 * 32];
  for (int64_t r = row_begin; r < row_end; r += kPanelRows) {
    const int64_t rows = std::min(kPanelRows, row_end - r);
    prepare_int8_panel(w, r, rows, x.k_blocks, x.row_blocks <= 2, panel);
    Prefetch pf;
    if (r + kPanelRows < row_end) {
      const int64_t row_bytes = w.cols * w.bits / 8;
      pf.next = static_cast<const char*>(w.data) + (r + kPanelRows) * row_bytes;
      pf.lines_left = std::min(kPanelRows, row_end - r - kPanelRows) * row_bytes / 64;
      pf.lines_per_step = (pf.lines_left + x.k_blocks - 1) / x.k_blocks;
    }
    const float* b = bias != nullptr ? bias + r : nullptr;
    for (int64_t blk = 0; blk < x.row_blocks; blk += 2) {
      const bool two = blk + 1 < x.row_blocks;
      if (rows > 16) {
        two ? block<2, 2>(panel, x, blk, acc, pf) : block<2, 1>(panel, x, blk, acc, pf);
      } else {
        two ? block<1, 2>(panel, x, blk, acc, pf) : block<1, 1>(panel, x, blk, acc, pf);
      }
      write_int8_panel(acc, blk, x.m, rows, b, y + r, w.rows);
    }
  }
  MLXLM_TILE_RELEASE();
}

}  // namespace mlxlm::kernels::amx
MLXLM_AMX_END

#else
namespace mlxlm::kernels::amx {
void int8_matmul_rows(const Int8Acts&, const WeightRef&, const float*, float*, int64_t, int64_t) {}
}  // namespace mlxlm::kernels::amx
#endif
