#include "cache/kv_quantize.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace mlxlm {

void check_kv_quantization(int64_t dim, int group_size, int bits) {
  if (std::find(kKvBits.begin(), kKvBits.end(), bits) == kKvBits.end()) {
    throw InvalidInput("cache", "kv bits must be 2, 3, 4, 5, 6 or 8, got " + std::to_string(bits));
  }
  if (std::find(kKvGroupSizes.begin(), kKvGroupSizes.end(), group_size) == kKvGroupSizes.end()) {
    throw InvalidInput(
        "cache", "kv group size must be 16, 32, 64 or 128, got " + std::to_string(group_size));
  }
  if (dim % group_size != 0) {
    throw InvalidInput("cache", "head dimension " + std::to_string(dim) +
                                    " is not a multiple of the kv group size " +
                                    std::to_string(group_size));
  }
  if (dim * bits % 32 != 0) {
    throw InvalidInput("cache", "head dimension " + std::to_string(dim) + " at " +
                                    std::to_string(bits) +
                                    " bits does not fill whole uint32 words");
  }
}

QuantizedTokens quantize_tokens(const Tensor& input, int group_size, int bits) {
  MLXLM_CHECK(input.ndim() == 4, "cache", "quantize_tokens input");
  // Half-precision keys are quantized from their exact f32 values.
  const Tensor widened = input.dtype() == DType::F32 ? Tensor() : to_f32(input.view());
  const Tensor& x = input.dtype() == DType::F32 ? input : widened;
  const int64_t d = x.dim(3);
  check_kv_quantization(d, group_size, bits);
  const int64_t rows = x.dim(0) * x.dim(1) * x.dim(2);
  const int64_t words = d * bits / 32, groups = d / group_size;
  QuantizedTokens q{Tensor(DType::U32, {x.dim(0), x.dim(1), x.dim(2), words}),
                    Tensor(DType::F32, {x.dim(0), x.dim(1), x.dim(2), groups}),
                    Tensor(DType::F32, {x.dim(0), x.dim(1), x.dim(2), groups})};
  const float n_bins = static_cast<float>((1 << bits) - 1);
  const float* src = x.data<float>();
  auto* codes = q.codes.data<uint32_t>();
  float* scales = q.scales.data<float>();
  float* biases = q.biases.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    uint32_t* out = codes + r * words;
    for (int64_t g = 0; g < groups; ++g) {
      const float* w = src + r * d + g * group_size;
      float mn = w[0], mx = w[0];
      for (int i = 1; i < group_size; ++i) {
        mn = std::min(mn, w[i]);
        mx = std::max(mx, w[i]);
      }
      // mlx keeps zero exactly representable: the edge of larger magnitude is the bias and the
      // scale is chosen so that an integer number of steps reaches zero.
      float scale = std::max((mx - mn) / n_bins, 1e-7f);
      const bool side = std::abs(mn) > std::abs(mx);
      scale = side ? scale : -scale;
      const float edge = side ? mn : mx;
      const float q0 = std::rint(edge / scale);
      float bias = 0;
      if (q0 != 0) {
        scale = edge / q0;
        bias = edge;
      }
      scales[r * groups + g] = scale;
      biases[r * groups + g] = bias;
      for (int i = 0; i < group_size; ++i) {
        const float v = std::clamp(std::rint((w[i] - bias) / scale), 0.0f, n_bins);
        const auto code = static_cast<uint64_t>(v);
        const int64_t bit = (g * group_size + i) * bits;
        const int64_t word = bit >> 5;
        const int shift = static_cast<int>(bit & 31);
        out[word] |= static_cast<uint32_t>(code << shift);
        if (shift + bits > 32) out[word + 1] |= static_cast<uint32_t>(code >> (32 - shift));
      }
    }
  }
  return q;
}

Tensor dequantize_tokens(const Tensor& codes, const Tensor& scales, const Tensor& biases,
                         int group_size, int bits) {
  const int64_t words = codes.dim(3);
  const int64_t d = words * 32 / bits, groups = d / group_size;
  MLXLM_CHECK(scales.dim(3) == groups && biases.dim(3) == groups, "cache", "dequantize shapes");
  Tensor out(DType::F32, {codes.dim(0), codes.dim(1), codes.dim(2), d});
  const int64_t rows = codes.dim(0) * codes.dim(1) * codes.dim(2);
  const auto* c = codes.data<uint32_t>();
  const uint32_t mask = (1u << bits) - 1;
  for (int64_t r = 0; r < rows; ++r) {
    const uint32_t* in = c + r * words;
    float* o = out.data<float>() + r * d;
    for (int64_t j = 0; j < d; ++j) {
      const int64_t bit = j * bits;
      const int shift = static_cast<int>(bit & 31);
      uint64_t pair = in[bit >> 5];
      if (shift + bits > 32) pair |= uint64_t{in[(bit >> 5) + 1]} << 32;
      const auto code = static_cast<float>((pair >> shift) & mask);
      const int64_t g = r * groups + j / group_size;
      o[j] = scales.data<float>()[g] * code + biases.data<float>()[g];
    }
  }
  return out;
}

}  // namespace mlxlm
