// The integer tile product (amx.h int8_matmul_rows): panels of 32 weight rows whose codes are
// the unsigned A tiles, against blocks of 32 activation rows. Every 64-column step is one
// `tdpbusd` per pair of tiles; its int32 sums are scaled by the weight and activation scales
// into f32 accumulators [weight row][activation row] that stay in L1, and the group biases
// enter through the activation sums: y = sum_steps ws * xs * (codes . xq) + wb * sum(x).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/amx/amx.h"
#include "kernels/hwy/scalar_load.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/amx/tile_ops.h"

MLXLM_AMX_BEGIN
#include "kernels/amx/transpose16-inl.h"

namespace mlxlm::kernels::amx {
namespace {

constexpr int64_t kTileBytes = 1024;

// One panel's A tiles and its scales and biases per step ([32 rows][step]); rows past the
// weight are zero. Tile (i, s) starts at tiles[i] + s * step_bytes, rows `stride` bytes apart:
// aligned 8-bit codes are tiles where they lie, others are copied (4-bit: unpacked) into `codes`
// ([row tile][step][16 rows][64 codes]).
struct Panel {
  AlignedVector<uint8_t> codes;
  std::vector<float> scale, bias;
  const uint8_t* tiles[2] = {};
  int64_t stride = 0;
  int64_t step_bytes = 0;
  // Just in time (4-bit, one block of activations): each step's two tiles are unpacked into
  // `jit` (two steps' worth, alternating) while the previous step multiplies, instead of the
  // whole panel up front: a panel used once is then read from memory straight into tiles
  // that are still in L1.
  const uint8_t* packed = nullptr;  // the panel's first row of codes
  int bits = 0;
  int64_t row_bytes = 0;
  int64_t rows = 0;
  alignas(64) uint8_t jit[2][2 * 1024];
};

// Columns [64s, 64s + 64) of one row of codes as 64 bytes: 8-bit codes as they are, 4-bit
// codes as their low nibbles (even columns), then their high nibbles (odd columns), which is
// Int8Acts' nibble order.
__m512i step_codes(const uint8_t* row, int bits, int64_t s) {
  if (bits == 8) return _mm512_loadu_si512(row + s * 64);
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + s * 32));
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i lo = _mm256_and_si256(b, low4);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), low4);
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// Step s of a panel's rows as two A tiles at dst (rows past `rows` stay as they are).
void unpack_step(const Panel& p, int64_t s, uint8_t* dst) {
  for (int64_t i = 0; i < p.rows; ++i) {
    _mm512_store_si512(dst + i * 64, step_codes(p.packed + i * p.row_bytes, p.bits, s));
  }
}

// n values of a scale array (F32, F16, BF16) as f32, 16 at a time.
void scales_to_f32(const void* src, DType dt, int64_t first, int64_t n, float* dst) {
  const auto* p = static_cast<const uint8_t*>(src);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v;
    if (dt == DType::F32) {
      v = _mm512_loadu_ps(p + (first + i) * 4);
    } else {
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + (first + i) * 2));
      v = dt == DType::F16 ? _mm512_cvtph_ps(h)
                           : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    _mm512_storeu_ps(dst + i, v);
  }
  for (; i < n; ++i) dst[i] = load_float(src, dt, first + i);
}

void prepare_panel(const WeightRef& w, int64_t row0, int64_t rows, int64_t steps, bool jit,
                   Panel& p) {
  const int64_t row_bytes = w.cols * w.bits / 8;
  const int64_t groups = w.cols / w.group_size;
  const auto* data = static_cast<const uint8_t*>(w.data) + row0 * row_bytes;
  p.packed = nullptr;
  // Rows past the weight must be zero; whole panels overwrite everything they use.
  p.scale.resize(static_cast<size_t>(32 * steps));
  p.bias.resize(p.scale.size());
  if (rows < 32) {
    std::fill(p.scale.begin(), p.scale.end(), 0.0f);
    std::fill(p.bias.begin(), p.bias.end(), 0.0f);
  }
  for (int64_t i = 0; i < rows; ++i) {
    float* sc = p.scale.data() + i * steps;
    float* bi = p.bias.data() + i * steps;
    scales_to_f32(w.scales, w.scale_dtype, (row0 + i) * groups, groups, sc);
    scales_to_f32(w.biases, w.scale_dtype, (row0 + i) * groups, groups, bi);
    for (int64_t s = steps - 1; s >= 0 && steps != groups; --s) {  // groups of 128: two steps
      sc[s] = sc[s / 2];
      bi[s] = bi[s / 2];
    }
  }
  if (jit) {
    p.packed = data;
    p.bits = w.bits;
    p.row_bytes = row_bytes;
    p.rows = rows;
    if (rows < 32) std::memset(p.jit, 0, sizeof(p.jit));
    p.stride = 64;
    p.step_bytes = 0;
    return;
  }
  // In place only on cache-line boundaries: a tile load whose rows straddle lines is ~5x slower.
  const bool aligned = reinterpret_cast<uintptr_t>(data) % 64 == 0 && row_bytes % 64 == 0;
  if (w.bits == 8 && rows == 32 && aligned) {
    p.tiles[0] = data;
    p.tiles[1] = data + 16 * row_bytes;
    p.stride = row_bytes;
    p.step_bytes = kInt8Block;
    return;
  }
  const size_t bytes = static_cast<size_t>(2 * steps * kTileBytes);
  if (rows < 32) {
    p.codes.assign(bytes, 0);
  } else {
    p.codes.resize(bytes);
  }
  for (int64_t i = 0; i < rows; ++i) {
    const uint8_t* src = data + i * row_bytes;
    uint8_t* dst = p.codes.data() + (i / 16) * steps * kTileBytes + (i % 16) * 64;
    for (int64_t s = 0; s < steps; ++s) {
      _mm512_store_si512(dst + s * kTileBytes, step_codes(src, w.bits, s));
    }
  }
  p.tiles[0] = p.codes.data();
  p.tiles[1] = p.codes.data() + steps * kTileBytes;
  p.stride = 64;
  p.step_bytes = kTileBytes;
}

template <int WT, int AT>
void rescale(const Panel& p, const Int8Acts& x, int64_t blk, int64_t s, const int32_t (*sums)[256],
             float* acc) {
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
void block(Panel& p, const Int8Acts& x, int64_t blk, float* acc, Prefetch& pf) {
  alignas(64) int32_t sums[2][4][256];
  for (int i = 0; i < 32 * 32; i += 16) _mm512_store_ps(acc + i, _mm512_setzero_ps());
  const int64_t steps = x.k_blocks;
  const uint8_t* w0 = p.tiles[0];
  const uint8_t* w1 = p.tiles[1];
  const int64_t ws = p.stride, wstep = p.step_bytes;
  const int8_t* a0 = x.q + blk * steps * kTileBytes;
  const int8_t* a1 = a0 + steps * kTileBytes;
  if (p.packed != nullptr) unpack_step(p, 0, p.jit[0]);
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
      unpack_step(p, s + 1, p.jit[(s + 1) & 1]);
    }
    if (s > 0) rescale<WT, AT>(p, x, blk, s - 1, sums[(s - 1) & 1], acc);
  }
  rescale<WT, AT>(p, x, blk, steps - 1, sums[(steps - 1) & 1], acc);
}

// acc [weight row][activation row] -> y [activation row][weight row] (+ bias), valid part only.
void write_out(const float* acc, int64_t blk, int64_t m, int64_t rows, const float* bias, float* y,
               int64_t y_rows) {
  for (int i = 0; i * 16 < rows; ++i) {
    const int64_t n_rows = std::min<int64_t>(16, rows - 16 * i);
    const auto mask = static_cast<__mmask16>((1u << n_rows) - 1);
    const __m512 b =
        bias != nullptr ? _mm512_maskz_loadu_ps(mask, bias + 16 * i) : _mm512_setzero_ps();
    for (int j = 0; j < 2; ++j) {
      const int64_t first = (blk + j) * 16;
      if (first >= m) break;
      __m512i t[16];
      for (int r = 0; r < 16; ++r) {
        t[r] = _mm512_castps_si512(_mm512_load_ps(acc + (16 * i + r) * 32 + 16 * j));
      }
      transpose16(t);  // t[c]: activation row first + c, weight rows 16i ..
      for (int64_t c = 0; c < std::min<int64_t>(16, m - first); ++c) {
        _mm512_mask_storeu_ps(y + (first + c) * y_rows + 16 * i, mask,
                              _mm512_add_ps(_mm512_castsi512_ps(t[c]), b));
      }
    }
  }
}

}  // namespace

void int8_matmul_rows(const Int8Acts& x, const WeightRef& w, const float* bias, float* y,
                      int64_t row_begin, int64_t row_end) {
  if (row_begin >= row_end || x.m == 0) return;
  load_full_tiles();
  thread_local Panel panel;
  alignas(64) float acc[32 * 32];
  for (int64_t r = row_begin; r < row_end; r += kPanelRows) {
    const int64_t rows = std::min(kPanelRows, row_end - r);
    prepare_panel(w, r, rows, x.k_blocks, x.row_blocks <= 2, panel);
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
      write_out(acc, blk, x.m, rows, b, y + r, w.rows);
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
