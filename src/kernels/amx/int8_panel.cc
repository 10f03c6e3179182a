// Weight panels for the integer products (int8_panel.h).
#include "kernels/amx/int8_panel.h"

#include "kernels/amx/amx.h"

#include <algorithm>
#include <cstring>

#include "kernels/hwy/scalar_load.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/amx/tile_ops.h"

MLXLM_AMX_BEGIN
#include "kernels/amx/transpose16-inl.h"

namespace mlxlm::kernels::amx {
namespace {

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

}  // namespace

// Step s of a panel's rows as two A tiles at dst (rows past `rows` stay as they are).
void unpack_int8_step(const Int8Panel& p, int64_t s, uint8_t* dst) {
  for (int64_t i = 0; i < p.rows; ++i) {
    _mm512_store_si512(dst + i * 64, step_codes(p.packed + i * p.row_bytes, p.bits, s));
  }
}

void prepare_int8_panel(const WeightRef& w, int64_t row0, int64_t rows, int64_t steps, bool jit,
                        Int8Panel& p) {
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

// acc [weight row][activation row] -> y [activation row][weight row] (+ bias), valid part only.
void write_int8_panel(const float* acc, int64_t blk, int64_t m, int64_t rows, const float* bias,
                      float* y, int64_t y_rows) {
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

}  // namespace mlxlm::kernels::amx
MLXLM_AMX_END

#else
namespace mlxlm::kernels::amx {
void prepare_int8_panel(const WeightRef&, int64_t, int64_t, int64_t, bool, Int8Panel&) {}
void unpack_int8_step(const Int8Panel&, int64_t, uint8_t*) {}
void write_int8_panel(const float*, int64_t, int64_t, int64_t, const float*, float*, int64_t) {}
}  // namespace mlxlm::kernels::amx
#endif
