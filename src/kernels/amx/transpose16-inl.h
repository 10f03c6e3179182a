// 16 x 16 transposes of 32-bit lanes for the AMX translation units and the AVX3_DL pass of the
// Highway kernels. Include it where AVX-512 is enabled (between MLXLM_AMX_BEGIN and
// MLXLM_AMX_END, or in Highway's AVX3_DL target region, outside any namespace); its function has
// internal linkage, so each unit keeps its own copy.
#pragma once
#include <immintrin.h>

namespace mlxlm::kernels::amx {
namespace {

// Transposes 16 rows of 16 dwords in place: afterwards r[c] holds column c.
[[maybe_unused]] void transpose16(__m512i* r) {
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

}  // namespace
}  // namespace mlxlm::kernels::amx
