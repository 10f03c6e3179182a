#pragma once
// mlx affine quantization: per group of G values, w ≈ scale * q + bias with unsigned
// q in [0, 2^bits - 1]. Exactly mlx's arithmetic (spec 4.4), including its sign convention:
// the scale is negated when the group's largest magnitude is its maximum, so negative scales
// are normal, and zero stays exactly representable whenever q0 != 0.
#include <cstdint>

namespace mlxlm::quant {

struct AffineGroupParams {
  float scale = 0.0f;  // f32, before the cast to the weight dtype
  float bias = 0.0f;
};

// Quantizes one group of `group` values into codes[group].
AffineGroupParams affine_quantize_group(const float* w, int group, int bits, uint8_t* codes);

}  // namespace mlxlm::quant
