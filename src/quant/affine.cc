#include "quant/affine.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mlxlm::quant {

AffineGroupParams affine_quantize_group(const float* w, int group, int bits, uint8_t* codes) {
  const auto n_bins = static_cast<float>((1 << bits) - 1);
  const float eps = 1e-7f;
  float w_min = std::numeric_limits<float>::infinity();
  float w_max = -w_min;
  for (int j = 0; j < group; ++j) {
    w_max = std::max(w_max, w[j]);
    w_min = std::min(w_min, w[j]);
  }
  const bool mask = std::fabs(w_min) > std::fabs(w_max);
  float scale = std::max((w_max - w_min) / n_bins, eps);
  scale = mask ? scale : -scale;
  const float edge = mask ? w_min : w_max;
  const float q0 = std::rint(edge / scale);
  float bias = 0.0f;
  if (q0 != 0.0f) {
    scale = edge / q0;
    bias = edge;
  }
  for (int j = 0; j < group; ++j) {
    float q = std::rint((w[j] - bias) / scale);
    q = std::min(std::max(q, 0.0f), n_bins);
    codes[j] = static_cast<uint8_t>(q);
  }
  return {scale, bias};
}

}  // namespace mlxlm::quant
