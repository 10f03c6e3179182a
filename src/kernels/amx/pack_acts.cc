// f32 activations -> bf16 A tiles (amx.h PackedActs).
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
    const int64_t valid = std::min<int64_t>(32, k - s * 32);
    uint16_t* tile = dst + (block * k_steps + s) * 512;
    for (int64_t i = 0; i < 16; ++i) {
      const __m512i r =
          i < rows ? row_step(x + (row0 + i) * k + s * 32, valid) : _mm512_setzero_si512();
      _mm512_storeu_si512(tile + i * 32, r);
    }
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
