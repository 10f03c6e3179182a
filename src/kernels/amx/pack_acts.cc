// f32 activations -> bf16 B tiles (amx.h PackedActs).
#include <algorithm>
#include <cstring>

#include "base/thread_pool.h"
#include "kernels/amx/amx.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/amx/tile_ops.h"

MLXLM_AMX_BEGIN
namespace mlxlm::kernels::amx {
namespace {

// Transposes 16 rows of 16 dwords in place: afterwards r[c] holds column c.
void transpose16(__m512i* r) {
  __m512i t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // r[4g + e] holds, in 128-bit lane L, element 4L + e of rows 4g .. 4g + 3.
  for (int g = 0; g < 4; ++g) {
    r[4 * g] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
    r[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
    r[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
    r[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
  }
  __m512i out[16];
  for (int e = 0; e < 4; ++e) {
    const __m512i u0 = _mm512_shuffle_i32x4(r[e], r[4 + e], 0x88);
    const __m512i u1 = _mm512_shuffle_i32x4(r[e], r[4 + e], 0xDD);
    const __m512i u2 = _mm512_shuffle_i32x4(r[8 + e], r[12 + e], 0x88);
    const __m512i u3 = _mm512_shuffle_i32x4(r[8 + e], r[12 + e], 0xDD);
    out[e] = _mm512_shuffle_i32x4(u0, u2, 0x88);
    out[8 + e] = _mm512_shuffle_i32x4(u0, u2, 0xDD);
    out[4 + e] = _mm512_shuffle_i32x4(u1, u3, 0x88);
    out[12 + e] = _mm512_shuffle_i32x4(u1, u3, 0xDD);
  }
  for (int c = 0; c < 16; ++c) r[c] = out[c];
}

// 32 columns of one activation row as bf16, rounded to nearest even (zero past `valid`).
__m512i row_step(const float* x, int64_t valid) {
  if (valid >= 32) {
    return (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + 16), _mm512_loadu_ps(x));
  }
  const auto lo_mask = static_cast<__mmask16>(valid >= 16 ? 0xFFFF : (1u << valid) - 1);
  const auto hi_mask = static_cast<__mmask16>(valid <= 16 ? 0 : (1u << (valid - 16)) - 1);
  const __m512 lo = _mm512_maskz_loadu_ps(lo_mask, x);
  const __m512 hi = _mm512_maskz_loadu_ps(hi_mask, x + 16);
  return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

void pack_block(const float* x, int64_t m, int64_t k, int64_t block, int64_t k_steps,
                uint16_t* dst) {
  const int64_t row0 = block * 16;
  const int64_t rows = std::min<int64_t>(16, m - row0);
  for (int64_t s = 0; s < k_steps; ++s) {
    __m512i r[16];
    const int64_t valid = std::min<int64_t>(32, k - s * 32);
    for (int64_t i = 0; i < 16; ++i) {
      r[i] = i < rows ? row_step(x + (row0 + i) * k + s * 32, valid) : _mm512_setzero_si512();
    }
    transpose16(r);
    uint16_t* tile = dst + (block * k_steps + s) * 512;
    for (int p = 0; p < 16; ++p) _mm512_storeu_si512(tile + p * 32, r[p]);
  }
}

}  // namespace

PackedActs ActPacker::pack(const float* x, int64_t m, int64_t k) {
  PackedActs p;
  p.m = m;
  p.k = k;
  p.row_blocks = (m + 15) / 16;
  p.k_steps = (k + 31) / 32;
  buf_.resize(static_cast<size_t>(p.row_blocks * p.k_steps * 512));
  uint16_t* dst = buf_.data();
  const int64_t k_steps = p.k_steps;
  ThreadPool::global().parallel_for(p.row_blocks, std::max<int64_t>(1, 2048 / k_steps),
                                    [&](int64_t b0, int64_t b1) {
                                      for (int64_t b = b0; b < b1; ++b) {
                                        pack_block(x, m, k, b, k_steps, dst);
                                      }
                                    });
  p.data = buf_.data();
  return p;
}

}  // namespace mlxlm::kernels::amx
MLXLM_AMX_END

#else  // not x86-64: amx::available() is false and nothing calls this.
namespace mlxlm::kernels::amx {
PackedActs ActPacker::pack(const float*, int64_t, int64_t) { return {}; }
}  // namespace mlxlm::kernels::amx
#endif
