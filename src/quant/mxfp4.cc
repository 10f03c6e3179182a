#include "quant/mxfp4.h"

#include <algorithm>
#include <cmath>

namespace mlxlm::quant {

uint8_t to_e8m0(float scale) {
  if (!std::isfinite(scale)) return 0xFF;
  if (scale <= 0.0f) return 0x00;
  int n = static_cast<int>(std::round(std::log2(scale)));
  n = std::clamp(n, -127, 127);
  return static_cast<uint8_t>(n + 127);
}

uint8_t to_e2m1(float x) {
  if (std::isnan(x)) return 0x7;
  const uint8_t sign = std::signbit(x) ? 0x8 : 0x0;
  x = std::fabs(x);
  uint8_t code;
  // Round to nearest; ties go to the even mantissa (1.0 over 0.5 at 0.75, 2 over 1.5 at 1.75..).
  if (x > 5.0f) {
    code = 0x7;
  } else if (x >= 3.5f) {
    code = 0x6;
  } else if (x > 2.5f) {
    code = 0x5;
  } else if (x >= 1.75f) {
    code = 0x4;
  } else if (x > 1.25f) {
    code = 0x3;
  } else if (x >= 0.75f) {
    code = 0x2;
  } else if (x > 0.25f) {
    code = 0x1;
  } else {
    code = 0x0;
  }
  return code | sign;
}

float e2m1_value(uint8_t code) {
  static constexpr float kTable[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                       -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};
  return kTable[code & 15];
}

uint8_t mxfp4_quantize_group(const float* w, uint8_t* codes) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(w[j]));
  const uint8_t e = to_e8m0(amax / 6.0f);
  const float scale = std::ldexp(1.0f, static_cast<int>(e) - 127);
  for (int j = 0; j < 32; ++j) codes[j] = to_e2m1(scale == 0.0f ? 0.0f : w[j] / scale);
  return e;
}

}  // namespace mlxlm::quant
