#include "kernels/rope.h"

#include <cmath>
#include <vector>

#include "kernels/hwy/dispatch.h"

namespace mlxlm::kernels {

void rope(float* x, const RopeArgs& a) {
  const int64_t half = a.rot_dim / 2;
  std::vector<float> cos_t(half), sin_t(half);
  for (int64_t t = 0; t < a.tokens; ++t) {
    const auto pos = static_cast<double>(a.positions[t]);
    for (int64_t i = 0; i < half; ++i) {
      // Angles in double: positions times frequencies lose precision in f32 at long contexts.
      double angle = pos * a.inv_freq[i];
      cos_t[i] = static_cast<float>(std::cos(angle)) * a.scale;
      sin_t[i] = static_cast<float>(std::sin(angle)) * a.scale;
    }
    simd::rope_token(x + t * a.heads * a.head_dim, a, cos_t.data(), sin_t.data());
  }
}

}  // namespace mlxlm::kernels
