#include <gtest/gtest.h>

#include <vector>

#include "quant/mxfp4.h"
#include "quant/quantize.h"

namespace mlxlm {
namespace {

TEST(MxFp4, HandMadeGroup) {
  // max |w| = 6 -> scale 6 / 6 = 1 -> E8M0 byte 127 (2^0). Codes: 0.25 -> 0 (tie to even 0),
  // 0.3 -> 0.5 (1), -5.5 -> -6 (0xF), 2.5 -> 2 (tie to even, 0x4), 1.75 -> 2 (0x4),
  // -0.75 -> -1 (tie to even, 0xA), 6 -> 0x7, 0 -> 0.
  std::vector<float> w(32, 0.0f);
  w[0] = 0.25f;
  w[1] = 0.3f;
  w[2] = -5.5f;
  w[3] = 2.5f;
  w[4] = 1.75f;
  w[5] = -0.75f;
  w[6] = 6.0f;
  QuantParams p{4, 32, QuantMode::MxFp4};
  auto q = quant::quantize_matrix(w.data(), 1, 32, p, DType::BF16);
  EXPECT_EQ(q.scales.data<uint8_t>()[0], 127);
  EXPECT_FALSE(q.biases.has_value());
  // Nibbles LSB first: codes 0,1,F,4,4,A,7,0 -> 0x07A44F10.
  EXPECT_EQ(q.weight.data<uint32_t>()[0], 0x07A44F10u);
  auto back = quant::dequantize_matrix(quant::quantized_ref(q, 1, 32, p));
  const float want[8] = {0.0f, 0.5f, -6.0f, 2.0f, 2.0f, -1.0f, 6.0f, 0.0f};
  for (int j = 0; j < 8; ++j) EXPECT_EQ(back.data<float>()[j], want[j]) << j;
}

TEST(MxFp4, ScaleExponentRoundsInLog2) {
  // max |w| = 0.75 -> 0.125 -> log2 = -3 -> byte 124; values are then w / 2^-3.
  std::vector<float> w(32, 0.0f);
  w[0] = 0.75f;
  w[1] = -0.25f;
  uint8_t codes[32];
  EXPECT_EQ(quant::mxfp4_quantize_group(w.data(), codes), 124);
  EXPECT_EQ(codes[0], 0x7);        // 6
  EXPECT_EQ(codes[1], 0x8 | 0x4);  // -2
  EXPECT_EQ(quant::to_e8m0(0.0f), 0);
  EXPECT_EQ(quant::e2m1_value(0xD), -3.0f);
}

}  // namespace
}  // namespace mlxlm
