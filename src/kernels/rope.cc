#include "kernels/rope.h"

#include <cmath>
#include <vector>

namespace mlxlm::kernels {

void rope(float* x, const RopeArgs& a) {
  const int64_t half = a.rot_dim / 2;
  std::vector<float> cos_t(half), sin_t(half);
  for (int64_t t = 0; t < a.tokens; ++t) {
    const auto pos = static_cast<double>(a.positions[t]);
    for (int64_t i = 0; i < half; ++i) {
      double angle = pos * a.inv_freq[i];
      cos_t[i] = static_cast<float>(std::cos(angle)) * a.scale;
      sin_t[i] = static_cast<float>(std::sin(angle)) * a.scale;
    }
    for (int64_t h = 0; h < a.heads; ++h) {
      float* v = x + (t * a.heads + h) * a.head_dim;
      for (int64_t i = 0; i < half; ++i) {
        int64_t i0 = a.traditional ? 2 * i : i;
        int64_t i1 = a.traditional ? 2 * i + 1 : i + half;
        float x0 = v[i0], x1 = v[i1];
        v[i0] = x0 * cos_t[i] - x1 * sin_t[i];
        v[i1] = x1 * cos_t[i] + x0 * sin_t[i];
      }
    }
  }
}

}  // namespace mlxlm::kernels
