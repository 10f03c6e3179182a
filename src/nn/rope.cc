#include "nn/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "base/error.h"
#include "kernels/rope.h"

namespace mlxlm {
namespace {

double yarn_mscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

// Dimension index whose wavelength fits `rotations` times into max_pos (YaRN paper, eq. 17).
double correction_dim(double rotations, double dim, double base, double max_pos) {
  return dim * std::log(max_pos / (rotations * 2 * std::numbers::pi)) / (2 * std::log(base));
}

}  // namespace

RoPE::RoPE(int64_t rot_dim, double theta, const RopeScaling& s, bool traditional)
    : rot_dim_(rot_dim), traditional_(traditional) {
  if (rot_dim <= 0 || rot_dim % 2 != 0) {
    throw InvalidInput(
        "nn", "rotary dimension must be positive and even, got " + std::to_string(rot_dim));
  }
  const int64_t half = rot_dim / 2;
  std::vector<double> base(half);
  for (int64_t i = 0; i < half; ++i) base[i] = 1.0 / std::pow(theta, 2.0 * i / rot_dim);

  std::vector<double> inv = base;
  if (s.type == "default") {
  } else if (s.type == "linear") {
    for (auto& f : inv) f /= s.factor;
  } else if (s.type == "llama3") {
    const double low_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
    const double high_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
    for (int64_t i = 0; i < half; ++i) {
      double wavelen = 2 * std::numbers::pi / base[i];
      if (wavelen < high_wavelen) {
        inv[i] = base[i];
      } else if (wavelen > low_wavelen) {
        inv[i] = base[i] / s.factor;
      } else {
        double smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
                        (s.high_freq_factor - s.low_freq_factor);
        inv[i] = (1 - smooth) * base[i] / s.factor + smooth * base[i];
      }
    }
  } else if (s.type == "yarn") {
    double low = correction_dim(s.beta_fast, rot_dim, theta, s.original_max_position_embeddings);
    double high = correction_dim(s.beta_slow, rot_dim, theta, s.original_max_position_embeddings);
    if (s.truncate) {
      low = std::floor(low);
      high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, static_cast<double>(rot_dim - 1));
    if (low == high) high += 0.001;
    for (int64_t i = 0; i < half; ++i) {
      double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
      double extrapolation = 1.0 - ramp;
      inv[i] = base[i] / s.factor * (1 - extrapolation) + base[i] * extrapolation;
    }
    double af = s.attention_factor;
    if (af == 0.0) {
      af = s.mscale_all_dim != 0.0
               ? yarn_mscale(s.factor, s.mscale) / yarn_mscale(s.factor, s.mscale_all_dim)
               : yarn_mscale(s.factor, 1.0);
    }
    attention_scale_ = static_cast<float>(af);
  } else {
    throw InvalidInput(
        "nn", "unsupported rope_scaling type '" + s.type + "' (default, linear, llama3, yarn)");
  }
  inv_freq_.assign(inv.begin(), inv.end());
}

void RoPE::apply(float* x, int64_t tokens, int64_t heads, int64_t head_dim,
                 const int64_t* positions) const {
  kernels::RopeArgs a;
  a.tokens = tokens;
  a.heads = heads;
  a.head_dim = head_dim;
  a.rot_dim = rot_dim_;
  a.inv_freq = inv_freq_.data();
  a.positions = positions;
  a.scale = attention_scale_;
  a.traditional = traditional_;
  kernels::rope(x, a);
}

}  // namespace mlxlm
