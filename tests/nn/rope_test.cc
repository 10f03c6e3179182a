// RoPE frequency tables for the rope_scaling variants, against values worked out by hand from
// the Hugging Face formulas, and the rotate-half pairing on a tiny vector.
#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "nn/rope.h"

namespace mlxlm {
namespace {

TEST(RoPE, DefaultFrequencies) {
  RoPE rope(8, 10000.0, RopeScaling{});
  // theta^(-2i/d): 1, 10000^-0.25 = 0.1, 0.01, 0.001.
  const std::vector<float> expected = {1.0f, 0.1f, 0.01f, 0.001f};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(rope.inv_freq()[i], expected[i], 1e-7f);
}

TEST(RoPE, LinearScalingDividesEveryFrequency) {
  RopeScaling s;
  s.type = "linear";
  s.factor = 4.0;
  RoPE rope(8, 10000.0, s);
  EXPECT_NEAR(rope.inv_freq()[1], 0.025f, 1e-7f);
}

TEST(RoPE, Llama3ScalingKeepsHighDividesLowSmoothsMiddle) {
  // Llama 3.1: theta 500000, factor 8, low 1, high 4, original context 8192, head_dim 128.
  RopeScaling s;
  s.type = "llama3";
  s.factor = 8.0;
  s.low_freq_factor = 1.0;
  s.high_freq_factor = 4.0;
  s.original_max_position_embeddings = 8192;
  RoPE rope(128, 500000.0, s);
  const auto& f = rope.inv_freq();
  EXPECT_FLOAT_EQ(f[0], 1.0f);  // wavelength 2*pi, far below 8192/4: unchanged
  // i = 20: wavelength 2*pi*500000^(40/128) = 379.4 < 2048: unchanged.
  EXPECT_NEAR(f[20], std::pow(500000.0, -40.0 / 128), 1e-9);
  // i = 63: wavelength 2.56e6 > 8192: divided by the factor.
  EXPECT_NEAR(f[63], std::pow(500000.0, -126.0 / 128) / 8, 1e-12);
  // i = 30: wavelength 2948.30 between 2048 and 8192: smooth = (8192/2948.30 - 1) / 3 = 0.592849,
  // inv = (1 - smooth) * base / 8 + smooth * base with base = 500000^(-60/128) = 0.00213112
  // (evaluated in Python from HF's _compute_llama3_parameters formula).
  EXPECT_NEAR(f[30], 0.00137189357, 1e-9);
}

TEST(RoPE, YarnAttentionFactorAndRamp) {
  RopeScaling s;
  s.type = "yarn";
  s.factor = 4.0;
  s.original_max_position_embeddings = 4096;
  RoPE rope(64, 10000.0, s);
  // 0.1 * ln(4) + 1
  EXPECT_NEAR(rope.attention_scale(), 1.1386294f, 1e-6f);
  // The fastest frequencies extrapolate (unchanged), the slowest interpolate (divided by 4).
  EXPECT_FLOAT_EQ(rope.inv_freq()[0], 1.0f);
  EXPECT_NEAR(rope.inv_freq()[31], std::pow(10000.0, -62.0 / 64) / 4, 1e-11);
}

TEST(RoPE, RotateHalfPairsIWithIPlusHalf) {
  RoPE rope(4, 10000.0, RopeScaling{});  // inv_freq = {1, 0.01}
  // One token at position 1, one head of dim 4: x = (1, 0, 0, 0) rotates with (x0, x2).
  std::vector<float> x = {1.0f, 0.0f, 0.0f, 0.0f};
  const int64_t pos = 1;
  rope.apply(x.data(), 1, 1, 4, &pos);
  EXPECT_NEAR(x[0], std::cos(1.0f), 1e-6f);
  EXPECT_NEAR(x[2], std::sin(1.0f), 1e-6f);
  EXPECT_NEAR(x[1], 0.0f, 1e-7f);
  EXPECT_NEAR(x[3], 0.0f, 1e-7f);
}

TEST(RoPE, UnknownScalingTypeIsNamed) {
  RopeScaling s;
  s.type = "longrope2";
  try {
    RoPE rope(8, 10000.0, s);
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("'longrope2'"), std::string::npos);
  }
}

}  // namespace
}  // namespace mlxlm
