#include "kernels/weight.h"

#include <cmath>
#include <cstring>

#include "base/error.h"
#include "kernels/hwy/scalar_load.h"
#include "tensor/tensor.h"

namespace mlxlm::kernels {
namespace {

// Value j of a little-endian bitstream of `bits`-bit codes starting at `bytes`.
uint32_t extract_code(const uint8_t* bytes, int64_t j, int bits) {
  const int64_t bit = j * bits;
  const int shift = static_cast<int>(bit & 7);
  // At most 8 + 7 bits are needed; read the second byte only when the code reaches it, so a
  // row's last code never reads past the row.
  uint32_t v = bytes[bit >> 3];
  if (shift + bits > 8) v |= uint32_t{bytes[(bit >> 3) + 1]} << 8;
  return (v >> shift) & ((1u << bits) - 1);
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
      for (int64_t j = 0; j < w.cols; ++j) dst[j] = load_float(base, dt, j);
      return;
    }
    case WeightFormat::Affine: {
      const auto* codes = static_cast<const uint8_t*>(w.data) + row * (w.cols * w.bits / 8);
      const int64_t groups = w.cols / w.group_size;
      for (int64_t g = 0; g < groups; ++g) {
        float scale = load_float(w.scales, w.scale_dtype, row * groups + g);
        float bias = load_float(w.biases, w.scale_dtype, row * groups + g);
        for (int64_t i = 0; i < w.group_size; ++i) {
          int64_t j = g * w.group_size + i;
          dst[j] = scale * static_cast<float>(extract_code(codes, j, w.bits)) + bias;
        }
      }
      return;
    }
    case WeightFormat::MxFp4: {
      const auto* codes = static_cast<const uint8_t*>(w.data) + row * (w.cols / 2);
      const auto* scales = static_cast<const uint8_t*>(w.scales) + row * (w.cols / 32);
      for (int64_t j = 0; j < w.cols; ++j) {
        float scale = std::ldexp(1.0f, static_cast<int>(scales[j / 32]) - 127);
        dst[j] = scale * kFp4Table[extract_code(codes, j, 4)];
      }
      return;
    }
  }
}

std::vector<std::span<const uint8_t>> weight_ranges(const WeightRef& w) {
  auto range = [](const void* p, int64_t bytes) {
    return std::span<const uint8_t>(static_cast<const uint8_t*>(p), static_cast<size_t>(bytes));
  };
  switch (w.format) {
    case WeightFormat::F32:
      return {range(w.data, w.rows * w.cols * 4)};
    case WeightFormat::F16:
    case WeightFormat::BF16:
      return {range(w.data, w.rows * w.cols * 2)};
    case WeightFormat::Affine: {
      const int64_t group_values = w.rows * (w.cols / w.group_size);
      const auto scale_bytes = group_values * static_cast<int64_t>(dtype_size(w.scale_dtype));
      return {range(w.data, w.rows * w.cols * w.bits / 8), range(w.scales, scale_bytes),
              range(w.biases, scale_bytes)};
    }
    case WeightFormat::MxFp4:
      return {range(w.data, w.rows * w.cols / 2), range(w.scales, w.rows * w.cols / 32)};
  }
  return {};
}

int64_t weight_bytes(const WeightRef& w) {
  int64_t bytes = 0;
  for (const auto& r : weight_ranges(w)) bytes += static_cast<int64_t>(r.size());
  return bytes;
}

}  // namespace mlxlm::kernels
