// f32 activations -> int8 B tiles for the integer tile products (amx.h Int8Acts).
#include <algorithm>

#include "base/thread_pool.h"
#include "kernels/amx/amx.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/amx/tile_ops.h"

MLXLM_AMX_BEGIN
#include "kernels/amx/transpose16-inl.h"

namespace mlxlm::kernels::amx {
namespace {

// Byte p of a 4-bit weight's unpacked step holds column 2p (p < 32) or 2(p - 32) + 1.
__m512i nibble_order() {
  alignas(64) int8_t idx[64];
  for (int p = 0; p < 64; ++p) idx[p] = static_cast<int8_t>(p < 32 ? 2 * p : 2 * (p - 32) + 1);
  return _mm512_load_si512(idx);
}

// 64 values -> int8 codes (scale = max|x| / 127, nearest even), their scale and the sum of the
// dequantized values.
__m512i quantize_step(const float* x, float& scale, float& sum) {
  __m512 v[4];
  __m512 amax = _mm512_setzero_ps();
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm512_loadu_ps(x + 16 * i);
    amax = _mm512_max_ps(amax, _mm512_abs_ps(v[i]));
  }
  const float d = _mm512_reduce_max_ps(amax) / 127.0f;
  const __m512 id = _mm512_set1_ps(d > 0.0f ? 1.0f / d : 0.0f);
  __m512i total = _mm512_setzero_si512();
  __m128i bytes[4];
  for (int i = 0; i < 4; ++i) {
    const __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(v[i], id));  // MXCSR: nearest even
    total = _mm512_add_epi32(total, q);
    bytes[i] = _mm512_cvtsepi32_epi8(q);
  }
  scale = d;
  sum = d * static_cast<float>(_mm512_reduce_add_epi32(total));
  const __m256i lo = _mm256_inserti128_si256(_mm256_castsi128_si256(bytes[0]), bytes[1], 1);
  const __m256i hi = _mm256_inserti128_si256(_mm256_castsi128_si256(bytes[2]), bytes[3], 1);
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

void pack_block(const float* x, const Int8Acts& a, int64_t block, int8_t* q, float* scale,
                float* sum) {
  const __m512i order = nibble_order();
  const int64_t rows = std::min<int64_t>(16, a.m - block * 16);
  for (int64_t s = 0; s < a.k_blocks; ++s) {
    const int64_t at = (block * a.k_blocks + s) * 16;
    __m512i r[16];
    for (int64_t i = 0; i < 16; ++i) {
      if (i >= rows) {
        r[i] = _mm512_setzero_si512();
        scale[at + i] = sum[at + i] = 0.0f;
        continue;
      }
      r[i] = quantize_step(x + (block * 16 + i) * a.k + s * kInt8Block, scale[at + i], sum[at + i]);
      if (a.nibbles) r[i] = _mm512_permutexvar_epi8(order, r[i]);
    }
    transpose16(r);  // row p: columns 4p .. 4p + 3 of each of the 16 rows
    int8_t* tile = q + at * 64;
    for (int p = 0; p < 16; ++p) _mm512_storeu_si512(tile + p * 64, r[p]);
  }
}

}  // namespace

Int8Acts Int8ActPacker::pack(const float* x, int64_t m, int64_t k, bool nibbles) {
  Int8Acts a;
  a.m = m;
  a.k = k;
  a.row_blocks = (m + 15) / 16;
  a.k_blocks = k / kInt8Block;
  a.nibbles = nibbles;
  q_.resize(static_cast<size_t>(a.row_blocks * a.k_blocks * 1024));
  scale_.resize(static_cast<size_t>(a.row_blocks * a.k_blocks * 16));
  sum_.resize(scale_.size());
  int8_t* q = q_.data();
  float* scale = scale_.data();
  float* sum = sum_.data();
  ThreadPool::global().parallel_for(a.row_blocks, std::max<int64_t>(1, 512 / a.k_blocks),
                                    [&](int64_t b0, int64_t b1) {
                                      for (int64_t b = b0; b < b1; ++b) {
                                        pack_block(x, a, b, q, scale, sum);
                                      }
                                    });
  a.q = q_.data();
  a.scale = scale_.data();
  a.sum = sum_.data();
  return a;
}

}  // namespace mlxlm::kernels::amx
MLXLM_AMX_END

#else
namespace mlxlm::kernels::amx {
Int8Acts Int8ActPacker::pack(const float*, int64_t, int64_t, bool) { return {}; }
}  // namespace mlxlm::kernels::amx
#endif
