// Dequantization of weight rows to bf16 for the tile products, 32 values per step.
#include "kernels/amx/weight_panel.h"

#include <cstring>
#include <vector>

#include "kernels/hwy/quant_codes.h"
#include "kernels/hwy/scalar_load.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/amx/tile_ops.h"

MLXLM_AMX_BEGIN
namespace mlxlm::kernels::amx {
namespace {

__m512i to_bf16(__m512 lo, __m512 hi) { return (__m512i)_mm512_cvtne2ps_pbh(hi, lo); }

// [even values (16) | odd values (16)] -> natural order.
__m512i interleave_halves(__m512i v) {
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                       23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(idx, v);
}

// One row of 8-bit codes (or 2/3/5/6-bit codes unpacked to bytes), scale * code + bias.
void affine_bytes(const uint8_t* codes, const WeightRef& w, int64_t row, uint16_t* dst) {
  const int64_t groups = w.cols / w.group_size;
  for (int64_t g = 0; g < groups; ++g) {
    const __m512 s = _mm512_set1_ps(load_float(w.scales, w.scale_dtype, row * groups + g));
    const __m512 b = _mm512_set1_ps(load_float(w.biases, w.scale_dtype, row * groups + g));
    for (int64_t j = g * w.group_size; j < (g + 1) * w.group_size; j += 32) {
      const __m128i* p = reinterpret_cast<const __m128i*>(codes + j);
      const __m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(p)));
      const __m512 hi = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(p + 1)));
      _mm512_storeu_si512(dst + j, to_bf16(_mm512_fmadd_ps(lo, s, b), _mm512_fmadd_ps(hi, s, b)));
    }
  }
}

void affine_nibbles(const uint8_t* codes, const WeightRef& w, int64_t row, uint16_t* dst) {
  const int64_t groups = w.cols / w.group_size;
  const __m512i low4 = _mm512_set1_epi32(15);
  for (int64_t g = 0; g < groups; ++g) {
    const __m512 s = _mm512_set1_ps(load_float(w.scales, w.scale_dtype, row * groups + g));
    const __m512 b = _mm512_set1_ps(load_float(w.biases, w.scale_dtype, row * groups + g));
    for (int64_t j = g * w.group_size; j < (g + 1) * w.group_size; j += 32) {
      const __m512i d =
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + j / 2)));
      const __m512 even = _mm512_cvtepi32_ps(_mm512_and_si512(d, low4));
      const __m512 odd = _mm512_cvtepi32_ps(_mm512_srli_epi32(d, 4));
      _mm512_storeu_si512(dst + j, interleave_halves(to_bf16(_mm512_fmadd_ps(even, s, b),
                                                             _mm512_fmadd_ps(odd, s, b))));
    }
  }
}

void mxfp4(const uint8_t* codes, const uint8_t* scales, int64_t cols, uint16_t* dst) {
  alignas(64) float table[16];
  for (int i = 0; i < 16; ++i) table[i] = static_cast<float>(qdetail::kFp4x2[i]);
  const __m512 lut = _mm512_load_ps(table);
  const __m512i low4 = _mm512_set1_epi32(15);
  for (int64_t j = 0; j < cols; j += 32) {
    const __m512 s = _mm512_set1_ps(qdetail::kE8m0Half[scales[j / 32]]);
    const __m512i d =
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + j / 2)));
    const __m512 even = _mm512_permutexvar_ps(_mm512_and_si512(d, low4), lut);
    const __m512 odd = _mm512_permutexvar_ps(_mm512_srli_epi32(d, 4), lut);
    _mm512_storeu_si512(dst + j,
                        interleave_halves(to_bf16(_mm512_mul_ps(even, s), _mm512_mul_ps(odd, s))));
  }
}

void float_row(const WeightRef& w, int64_t row, uint16_t* dst) {
  const auto* base = static_cast<const uint8_t*>(w.data);
  if (w.format == WeightFormat::BF16) {
    std::memcpy(dst, base + row * w.cols * 2, static_cast<size_t>(w.cols) * 2);
    return;
  }
  const DType dt = w.format == WeightFormat::F16 ? DType::F16 : DType::F32;
  for (int64_t j = 0; j < w.cols; ++j) {
    dst[j] = f32_to_bf16(load_float(base + row * w.cols * dtype_size(dt), dt, j));
  }
}

}  // namespace

void weight_rows_bf16(const WeightRef& w, int64_t row0, int64_t rows, uint16_t* dst, int64_t ld) {
  thread_local std::vector<uint8_t> unpacked;
  const auto* data = static_cast<const uint8_t*>(w.data);
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t row = row0 + i;
    uint16_t* out = dst + i * ld;
    switch (w.format) {
      case WeightFormat::F32:
      case WeightFormat::F16:
      case WeightFormat::BF16:
        float_row(w, row, out);
        break;
      case WeightFormat::Affine: {
        const uint8_t* codes = data + row * (w.cols * w.bits / 8);
        if (w.bits == 4) {
          affine_nibbles(codes, w, row, out);
        } else if (w.bits == 8) {
          affine_bytes(codes, w, row, out);
        } else {
          unpacked.resize(static_cast<size_t>(w.cols));
          qdetail::unpack_row_bytes(codes, w.cols, w.bits, unpacked.data());
          affine_bytes(unpacked.data(), w, row, out);
        }
        break;
      }
      case WeightFormat::MxFp4:
        mxfp4(data + row * (w.cols / 2),
              static_cast<const uint8_t*>(w.scales) + row * (w.cols / 32), w.cols, out);
        break;
    }
    std::memset(out + w.cols, 0, static_cast<size_t>(ld - w.cols) * 2);
  }
}

}  // namespace mlxlm::kernels::amx
MLXLM_AMX_END
#endif
