#include "kernels/weight.h"

#include <cmath>
#include <cstring>

#include "base/error.h"
#include "tensor/tensor.h"

namespace mlxlm::kernels {
namespace {

float load_scale(const void* base, DType dtype, int64_t index) {
  switch (dtype) {
    case DType::F32:
      return static_cast<const float*>(base)[index];
    case DType::F16:
      return f16_to_f32(static_cast<const uint16_t*>(base)[index]);
    case DType::BF16:
      return bf16_to_f32(static_cast<const uint16_t*>(base)[index]);
    default:
      return 0.0f;
  }
}

// Value j of a little-endian bitstream of `bits`-bit codes starting at `words`.
uint32_t extract_code(const uint32_t* words, int64_t j, int bits) {
  int64_t bit = j * bits;
  int64_t word = bit >> 5;
  int shift = static_cast<int>(bit & 31);
  uint64_t pair = words[word];
  if (shift + bits > 32) pair |= uint64_t{words[word + 1]} << 32;
  return static_cast<uint32_t>((pair >> shift) & ((1u << bits) - 1));
}

constexpr float kFp4Table[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                 -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

}  // namespace

void dequantize_row(const WeightRef& w, int64_t row, float* dst) {
  switch (w.format) {
    case WeightFormat::F32:
    case WeightFormat::F16:
    case WeightFormat::BF16: {
      DType dt = w.format == WeightFormat::F32   ? DType::F32
                 : w.format == WeightFormat::F16 ? DType::F16
                                                 : DType::BF16;
      const auto* base = static_cast<const uint8_t*>(w.data) + row * w.cols * dtype_size(dt);
      convert_to_f32(base, dt, w.cols, dst);
      return;
    }
    case WeightFormat::Affine: {
      const int64_t words_per_row = w.cols * w.bits / 32;
      const auto* codes = static_cast<const uint32_t*>(w.data) + row * words_per_row;
      const int64_t groups = w.cols / w.group_size;
      for (int64_t g = 0; g < groups; ++g) {
        float scale = load_scale(w.scales, w.scale_dtype, row * groups + g);
        float bias = load_scale(w.biases, w.scale_dtype, row * groups + g);
        for (int64_t i = 0; i < w.group_size; ++i) {
          int64_t j = g * w.group_size + i;
          dst[j] = scale * static_cast<float>(extract_code(codes, j, w.bits)) + bias;
        }
      }
      return;
    }
    case WeightFormat::MxFp4: {
      const int64_t words_per_row = w.cols / 8;
      const auto* codes = static_cast<const uint32_t*>(w.data) + row * words_per_row;
      const auto* scales = static_cast<const uint8_t*>(w.scales) + row * (w.cols / 32);
      for (int64_t j = 0; j < w.cols; ++j) {
        float scale = std::ldexp(1.0f, static_cast<int>(scales[j / 32]) - 127);
        dst[j] = scale * kFp4Table[extract_code(codes, j, 4)];
      }
      return;
    }
  }
}

int64_t weight_bytes(const WeightRef& w) {
  switch (w.format) {
    case WeightFormat::F32:
      return w.rows * w.cols * 4;
    case WeightFormat::F16:
    case WeightFormat::BF16:
      return w.rows * w.cols * 2;
    case WeightFormat::Affine:
      return w.rows * w.cols * w.bits / 8 +
             2 * w.rows * (w.cols / w.group_size) * static_cast<int64_t>(dtype_size(w.scale_dtype));
    case WeightFormat::MxFp4:
      return w.rows * w.cols / 2 + w.rows * w.cols / 32;
  }
  return 0;
}

}  // namespace mlxlm::kernels
