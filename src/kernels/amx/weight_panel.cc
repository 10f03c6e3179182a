// Dequantization of weight rows into bf16 pair tiles: 16 rows x 32 columns at a time, each row
// computed as one vector of 32 bf16 and the 16 vectors transposed as pairs.
#include "kernels/amx/weight_panel.h"

#include <cstring>
#include <vector>

#include "kernels/hwy/quant_codes.h"
#include "kernels/hwy/scalar_load.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "kernels/amx/tile_ops.h"

MLXLM_AMX_BEGIN
#include "kernels/amx/transpose16-inl.h"

namespace mlxlm::kernels::amx {
namespace {

__m512i to_bf16(__m512 lo, __m512 hi) { return (__m512i)_mm512_cvtne2ps_pbh(hi, lo); }

// [even values (16) | odd values (16)] -> natural order.
__m512i interleave_halves(__m512i v) {
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                       23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(idx, v);
}

// Readers: columns [32s, 32s + 32) of weight row `row` as 32 bf16 in natural order.

// bf16 rows of `ld` elements (the weight itself, or rows converted to bf16 up front).
struct Bf16Rows {
  const uint8_t* base;
  int64_t ld;
  __m512i operator()(int64_t row, int64_t s) const {
    return _mm512_loadu_si512(base + (row * ld + s * 32) * 2);
  }
};

// Affine codes one byte each: 8-bit codes, or 2/3/5/6-bit codes unpacked up front.
struct AffineBytes {
  const uint8_t* codes;
  int64_t row_bytes;
  const WeightRef* w;
  __m512i operator()(int64_t row, int64_t s) const {
    const int64_t groups = w->cols / w->group_size, g = row * groups + s * 32 / w->group_size;
    const __m512 sc = _mm512_set1_ps(load_float(w->scales, w->scale_dtype, g));
    const __m512 bi = _mm512_set1_ps(load_float(w->biases, w->scale_dtype, g));
    const auto* p = reinterpret_cast<const __m128i*>(codes + row * row_bytes + s * 32);
    const __m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(p)));
    const __m512 hi = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(p + 1)));
    return to_bf16(_mm512_fmadd_ps(lo, sc, bi), _mm512_fmadd_ps(hi, sc, bi));
  }
};

// Affine 4-bit codes: a byte holds value 2j in its low and 2j + 1 in its high nibble.
struct AffineNibbles {
  const uint8_t* codes;
  const WeightRef* w;
  __m512i operator()(int64_t row, int64_t s) const {
    const int64_t groups = w->cols / w->group_size, g = row * groups + s * 32 / w->group_size;
    const __m512 sc = _mm512_set1_ps(load_float(w->scales, w->scale_dtype, g));
    const __m512 bi = _mm512_set1_ps(load_float(w->biases, w->scale_dtype, g));
    const __m512i d = _mm512_cvtepu8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + row * (w->cols / 2) + s * 16)));
    const __m512 even = _mm512_cvtepi32_ps(_mm512_and_si512(d, _mm512_set1_epi32(15)));
    const __m512 odd = _mm512_cvtepi32_ps(_mm512_srli_epi32(d, 4));
    return interleave_halves(to_bf16(_mm512_fmadd_ps(even, sc, bi), _mm512_fmadd_ps(odd, sc, bi)));
  }
};

// mxfp4: E2M1 nibbles (as 2x their value) times the block's E8M0 scale (halved).
struct MxFp4Nibbles {
  const uint8_t* codes;
  const uint8_t* scales;
  int64_t cols;
  __m512 lut;
  __m512i operator()(int64_t row, int64_t s) const {
    const __m512 sc = _mm512_set1_ps(qdetail::kE8m0Half[scales[row * (cols / 32) + s]]);
    const __m512i d = _mm512_cvtepu8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + row * (cols / 2) + s * 16)));
    const __m512 even = _mm512_permutexvar_ps(_mm512_and_si512(d, _mm512_set1_epi32(15)), lut);
    const __m512 odd = _mm512_permutexvar_ps(_mm512_srli_epi32(d, 4), lut);
    return interleave_halves(to_bf16(_mm512_mul_ps(even, sc), _mm512_mul_ps(odd, sc)));
  }
};

template <class Reader>
void write_tiles(const Reader& read, int64_t rows, int64_t k_steps, uint16_t* dst) {
  for (int64_t t = 0; t * 16 < rows; ++t) {
    const int64_t n = std::min<int64_t>(16, rows - t * 16);
    for (int64_t s = 0; s < k_steps; ++s) {
      __m512i v[16];
      for (int64_t i = 0; i < 16; ++i) v[i] = i < n ? read(t * 16 + i, s) : _mm512_setzero_si512();
      transpose16(v);
      uint16_t* tile = dst + (t * k_steps + s) * 512;
      for (int p = 0; p < 16; ++p) _mm512_storeu_si512(tile + p * 32, v[p]);
    }
  }
}

}  // namespace

void weight_tiles_bf16(const WeightRef& w, int64_t row0, int64_t rows, int64_t k_steps,
                       uint16_t* dst) {
  thread_local std::vector<uint8_t> staged;  // rows converted or unpacked up front
  const auto* data = static_cast<const uint8_t*>(w.data);
  switch (w.format) {
    case WeightFormat::F32:
    case WeightFormat::F16:
    case WeightFormat::BF16: {
      if (w.format == WeightFormat::BF16 && w.cols % 32 == 0) {
        return write_tiles(Bf16Rows{data + row0 * w.cols * 2, w.cols}, rows, k_steps, dst);
      }
      const int64_t ld = k_steps * 32;
      const DType dt = w.format == WeightFormat::F32   ? DType::F32
                       : w.format == WeightFormat::F16 ? DType::F16
                                                       : DType::BF16;
      staged.assign(static_cast<size_t>(rows * ld * 2), 0);
      auto* out = reinterpret_cast<uint16_t*>(staged.data());
      for (int64_t i = 0; i < rows; ++i) {
        const uint8_t* src = data + (row0 + i) * w.cols * dtype_size(dt);
        for (int64_t j = 0; j < w.cols; ++j) out[i * ld + j] = f32_to_bf16(load_float(src, dt, j));
      }
      return write_tiles(Bf16Rows{staged.data(), ld}, rows, k_steps, dst);
    }
    case WeightFormat::Affine: {
      const WeightRef shifted = [&] {
        WeightRef r = w;  // scales and biases of row row0 become row 0
        const int64_t offset = row0 * (w.cols / w.group_size) * dtype_size(w.scale_dtype);
        r.scales = static_cast<const uint8_t*>(w.scales) + offset;
        r.biases = static_cast<const uint8_t*>(w.biases) + offset;
        return r;
      }();
      const int64_t row_bytes = w.cols * w.bits / 8;
      const uint8_t* codes = data + row0 * row_bytes;
      if (w.bits == 4) return write_tiles(AffineNibbles{codes, &shifted}, rows, k_steps, dst);
      if (w.bits == 8) {
        return write_tiles(AffineBytes{codes, row_bytes, &shifted}, rows, k_steps, dst);
      }
      staged.resize(static_cast<size_t>(rows * w.cols));
      for (int64_t i = 0; i < rows; ++i) {
        qdetail::unpack_row_bytes(codes + i * row_bytes, w.cols, w.bits,
                                  staged.data() + i * w.cols);
      }
      return write_tiles(AffineBytes{staged.data(), w.cols, &shifted}, rows, k_steps, dst);
    }
    case WeightFormat::MxFp4: {
      alignas(64) float table[16];
      for (int i = 0; i < 16; ++i) table[i] = static_cast<float>(qdetail::kFp4x2[i]);
      const MxFp4Nibbles read{data + row0 * (w.cols / 2),
                              static_cast<const uint8_t*>(w.scales) + row0 * (w.cols / 32), w.cols,
                              _mm512_load_ps(table)};
      return write_tiles(read, rows, k_steps, dst);
    }
  }
}

}  // namespace mlxlm::kernels::amx
MLXLM_AMX_END
#endif
