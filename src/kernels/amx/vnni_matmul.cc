// The integer product of amx.h on AVX-512 VNNI, for CPUs without AMX tiles (Zen 4/5, Ice
// Lake): the same panels (int8_panel.h) and packed activations (Int8Acts), with each 16 x 16
// tile product computed as 16 `vpdpbusd` per weight row: a weight row's four codes of a
// column quad, broadcast, against that quad of all 16 activation rows (one row of the
// activation tile). Eight weight rows by two activation blocks are 16 independent int32
// accumulators per step; each step's sums are rescaled into f32 accumulators [weight row]
// [activation row] in L1: y = sum_steps ws * xs * (codes . xq) + wb * sum(x).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/amx/amx.h"
#include "kernels/amx/int8_panel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/amx/tile_ops.h"

MLXLM_AMX_BEGIN

namespace mlxlm::kernels::amx {
namespace {

constexpr int kChunkRows = 8;  // weight rows whose accumulators stay in registers

// acc[32 weight rows][32 activation rows] for activation blocks blk (and blk + 1 if AT == 2)
// against the first ceil(rows / 8) * 8 rows of the panel (rows past the weight are zero).
template <int AT>
void block(const Int8Panel& p, const Int8Acts& x, int64_t blk, int64_t rows, float* acc) {
  for (int i = 0; i < 32 * 32; i += 16) _mm512_store_ps(acc + i, _mm512_setzero_ps());
  const int64_t steps = x.k_blocks;
  const int8_t* a0 = x.q + blk * steps * kTileBytes;
  for (int64_t s = 0; s < steps; ++s) {
    const int8_t* act[2] = {a0 + s * kTileBytes, a0 + (steps + s) * kTileBytes};
    __m512 xs[AT], xsum[AT];
    for (int j = 0; j < AT; ++j) {
      const int64_t at = ((blk + j) * steps + s) * 16;
      xs[j] = _mm512_loadu_ps(x.scale + at);
      xsum[j] = _mm512_loadu_ps(x.sum + at);
    }
    for (int64_t r0 = 0; r0 < rows; r0 += kChunkRows) {
      const uint8_t* w[kChunkRows];
      for (int r = 0; r < kChunkRows; ++r) w[r] = p.row_step(r0 + r, s);
      __m512i c[kChunkRows][AT];
      for (auto& row : c) {
        for (auto& v : row) v = _mm512_setzero_si512();
      }
      for (int q = 0; q < 16; ++q) {
        __m512i v[AT];
        for (int j = 0; j < AT; ++j) v[j] = _mm512_loadu_si512(act[j] + 64 * q);
        for (int r = 0; r < kChunkRows; ++r) {
          int32_t quad;
          std::memcpy(&quad, w[r] + 4 * q, 4);
          const __m512i wq = _mm512_set1_epi32(quad);
          for (int j = 0; j < AT; ++j) c[r][j] = _mm512_dpbusd_epi32(c[r][j], wq, v[j]);
        }
      }
      for (int r = 0; r < kChunkRows; ++r) {
        const int64_t row = r0 + r;
        const __m512 ws = _mm512_set1_ps(p.scale[row * steps + s]);
        const __m512 wb = _mm512_set1_ps(p.bias[row * steps + s]);
        for (int j = 0; j < AT; ++j) {
          float* a = acc + row * 32 + 16 * j;
          __m512 t = _mm512_fmadd_ps(xsum[j], wb, _mm512_load_ps(a));
          t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(c[r][j]), _mm512_mul_ps(xs[j], ws), t);
          _mm512_store_ps(a, t);
        }
      }
    }
  }
}

}  // namespace

void vnni_int8_matmul_rows(const Int8Acts& x, const WeightRef& w, const float* bias, float* y,
                           int64_t row_begin, int64_t row_end) {
  if (row_begin >= row_end || x.m == 0) return;
  thread_local Int8Panel panel;
  alignas(64) float acc[32 * 32];
  for (int64_t r = row_begin; r < row_end; r += kPanelRows) {
    const int64_t rows = std::min(kPanelRows, row_end - r);
    prepare_int8_panel(w, r, rows, x.k_blocks, false, panel);
    const float* b = bias != nullptr ? bias + r : nullptr;
    for (int64_t blk = 0; blk < x.row_blocks; blk += 2) {
      if (blk + 1 < x.row_blocks) {
        block<2>(panel, x, blk, rows, acc);
      } else {
        block<1>(panel, x, blk, rows, acc);
      }
      write_int8_panel(acc, blk, x.m, rows, b, y + r, w.rows);
    }
  }
}

}  // namespace mlxlm::kernels::amx
MLXLM_AMX_END

#else
namespace mlxlm::kernels::amx {
void vnni_int8_matmul_rows(const Int8Acts&, const WeightRef&, const float*, float*, int64_t,
                           int64_t) {}
}  // namespace mlxlm::kernels::amx
#endif
