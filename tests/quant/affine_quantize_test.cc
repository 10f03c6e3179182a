// mlx affine quantization on hand-made groups: expected scales, biases, codes and packed words
// are worked out by hand from spec 4.4's formulas (see the comment on each case).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "base/error.h"
#include "kernels/weight.h"
#include "quant/affine.h"
#include "quant/pack.h"
#include "quant/quantize.h"

namespace mlxlm {
namespace {

std::vector<uint32_t> words_of(const Tensor& t) {
  std::vector<uint32_t> w(t.numel());
  std::memcpy(w.data(), t.data(), t.nbytes());
  return w;
}

// Quantizes one row (f32 scales) and checks scale, bias, words, and dequantization.
void check_row(const std::vector<float>& w, int bits, int group, float scale, float bias,
               const std::vector<uint32_t>& words) {
  QuantParams p{bits, group, QuantMode::Affine};
  const auto cols = static_cast<int64_t>(w.size());
  auto q = quant::quantize_matrix(w.data(), 1, cols, p, DType::F32);
  EXPECT_EQ(q.scales.data<float>()[0], scale);
  EXPECT_EQ(q.biases->data<float>()[0], bias);
  EXPECT_EQ(words_of(q.weight), words);
  auto ref = quant::quantized_ref(q, 1, cols, p);
  Tensor back = quant::dequantize_matrix(ref);
  for (int64_t j = 0; j < cols; ++j) {
    const uint32_t code = quant::unpack_code(q.weight.data<uint8_t>(), j, bits);
    EXPECT_EQ(back.data<float>()[j], scale * static_cast<float>(code) + bias) << j;
  }
}

TEST(AffineQuantize, NegativeScaleWhenMaxDominates2Bit) {
  // w = j % 4: min 0, max 3, |min| <= |max| -> scale = -(3 - 0) / 3 = -1, edge = 3,
  // q0 = rint(3 / -1) = -3 -> scale = 3 / -3 = -1, bias = 3, q = rint((w - 3) / -1) = 3 - w.
  // Codes 3,2,1,0 packed LSB first: 3 | 2<<2 | 1<<4 | 0<<6 = 0x1B per byte.
  std::vector<float> w(32);
  for (int j = 0; j < 32; ++j) w[j] = static_cast<float>(j % 4);
  check_row(w, 2, 32, -1.0f, 3.0f, {0x1B1B1B1Bu, 0x1B1B1B1Bu});
}

TEST(AffineQuantize, PositiveScaleWhenMinDominates2Bit) {
  // w = -(j % 4): min -3, max 0 -> scale = 1, edge = -3, q0 = -3 -> scale = -3 / -3 = 1,
  // bias = -3, q = w + 3 = 3 - j % 4: the same words as above.
  std::vector<float> w(32);
  for (int j = 0; j < 32; ++j) w[j] = -static_cast<float>(j % 4);
  check_row(w, 2, 32, 1.0f, -3.0f, {0x1B1B1B1Bu, 0x1B1B1B1Bu});
}

TEST(AffineQuantize, RoundHalfToEven4Bit) {
  // min -1, max 2.75: scale = -(3.75 / 15) = -0.25, edge = 2.75, q0 = rint(-11) = -11,
  // scale = 2.75 / -11 = -0.25, bias = 2.75, q = rint((2.75 - w) * 4):
  // w = 2.75 -> 0, w = -1 -> 15, w = 1.625 -> rint(4.5) = 4, w = 1.375 -> rint(5.5) = 6,
  // w = 0 -> 11; the other 27 values are 2.75 -> 0.
  std::vector<float> w(32, 2.75f);
  w[1] = -1.0f;
  w[2] = 1.625f;
  w[3] = 1.375f;
  w[8] = 0.0f;
  // Word 0 holds codes 0..7 = 0, 15, 4, 6, 0, 0, 0, 0, nibble j at bits 4j..4j+3:
  // 0xF << 4 | 0x4 << 8 | 0x6 << 12 = 0x000064F0.
  // Word 1 holds codes 8..15 = 11, 0, ... -> 0x0000000B.
  check_row(w, 4, 32, -0.25f, 2.75f, {0x000064F0u, 0x0000000Bu, 0u, 0u});
}

TEST(AffineQuantize, AllZeroGroupKeepsEpsilonScaleAndZeroBias) {
  // max = min = 0: scale = max(0, 1e-7) negated = -1e-7, edge = 0, q0 = 0 -> bias = 0, q = 0.
  std::vector<float> w(64, 0.0f);
  check_row(w, 4, 64, -1e-7f, 0.0f, std::vector<uint32_t>(8, 0u));
}

TEST(AffineQuantize, ThreeBitCodesStraddleWords) {
  // w = j % 8 - 7: min -7 dominates -> scale 1, bias -7, q = j % 8. Eight 3-bit codes 0..7 form
  // the 24-bit pattern 0xFAC688 (octal 76543210), repeated four times across three words:
  // word0 = 0x88|FAC688, word1 = 0xC688|FAC6, word2 = 0xFAC688|FA. Codes 10 and 21 straddle.
  std::vector<float> w(32);
  for (int j = 0; j < 32; ++j) w[j] = static_cast<float>(j % 8) - 7.0f;
  check_row(w, 3, 32, 1.0f, -7.0f, {0x88FAC688u, 0xC688FAC6u, 0xFAC688FAu});
}

TEST(AffineQuantize, FiveBitCodesStraddleWords) {
  // w = j - 31: scale 1, bias -31, q = j. Word 0 = codes 0..5 at 5-bit steps plus the low two
  // bits of code 6 (0b10) at bits 30-31: 0x20 + 0x800 + 0x18000 + 0x400000 + 0xA000000 +
  // 0x80000000 = 0x8A418820; code 6's top three bits (0b001) open word 1, and so on.
  std::vector<float> w(32);
  for (int j = 0; j < 32; ++j) w[j] = static_cast<float>(j) - 31.0f;
  check_row(w, 5, 32, 1.0f, -31.0f,
            {0x8A418820u, 0xC5A92839u, 0xCA307B9Au, 0x38BDAB49u, 0xFFBBCDEBu});
}

TEST(AffineQuantize, SixBitCodesStraddleWords) {
  // w = j - 63 over a group of 64: scale 1, bias -63, q = j; four codes per three bytes.
  // Word 0 = 0 | 1<<6 | 2<<12 | 3<<18 | 4<<24 | (5 & 3)<<30 = 0x440C2040.
  std::vector<float> w(64);
  for (int j = 0; j < 64; ++j) w[j] = static_cast<float>(j) - 63.0f;
  check_row(w, 6, 64, 1.0f, -63.0f,
            {0x440C2040u, 0xA2481C61u, 0x3CE34C2Cu, 0x544D2450u, 0xA6585D65u, 0x7DE75C6Du,
             0x648E2860u, 0xAA689E69u, 0xBEEB6CAEu, 0x74CF2C70u, 0xAE78DF6Du, 0xFFEF7CEFu});
}

TEST(AffineQuantize, EightBitNegativeScaleWithGroupOf128) {
  // w = 0.5 * (j - 100) for j < 128: min -50, max 13.5 -> min dominates, scale =
  // 63.5 / 255 (not dyadic), edge = -50, q0 = rint(-50 / scale) = rint(-200.787...) = -201,
  // scale = -50 / -201, bias = -50. Check the parameters and that w = -50 maps to code 0.
  std::vector<float> w(128);
  for (int j = 0; j < 128; ++j) w[j] = 0.5f * static_cast<float>(j - 100);
  QuantParams p{8, 128, QuantMode::Affine};
  auto q = quant::quantize_matrix(w.data(), 1, 128, p, DType::F32);
  EXPECT_EQ(q.scales.data<float>()[0], -50.0f / -201.0f);
  EXPECT_EQ(q.biases->data<float>()[0], -50.0f);
  EXPECT_EQ(q.weight.data<uint8_t>()[0], 0);
  EXPECT_EQ(q.weight.data<uint8_t>()[127], 255);  // rint(63.5 / (50/201)) = rint(255.27) -> 255
}

TEST(AffineQuantize, ScalesCastToBf16) {
  // The group of RoundHalfToEven4Bit: -0.25 and 2.75 are exact in bf16.
  std::vector<float> w(32, 2.75f);
  w[1] = -1.0f;
  QuantParams p{4, 32, QuantMode::Affine};
  auto q = quant::quantize_matrix(w.data(), 1, 32, p, DType::BF16);
  EXPECT_EQ(q.scales.dtype(), DType::BF16);
  EXPECT_EQ(bf16_to_f32(q.scales.data<uint16_t>()[0]), -0.25f);
  EXPECT_EQ(bf16_to_f32(q.biases->data<uint16_t>()[0]), 2.75f);
}

TEST(AffineQuantize, RejectsUnsupportedParameters) {
  std::vector<float> w(96, 1.0f);
  EXPECT_THROW(quant::quantize_matrix(w.data(), 1, 96, {7, 32, QuantMode::Affine}, DType::F32),
               InvalidInput);
  EXPECT_THROW(quant::quantize_matrix(w.data(), 1, 96, {4, 64, QuantMode::Affine}, DType::F32),
               InvalidInput);
  EXPECT_FALSE(quant::can_quantize(96, {4, 64, QuantMode::Affine}));
}

TEST(Pack, RoundTripsEveryWidth) {
  for (int bits : {2, 3, 4, 5, 6, 8}) {
    std::vector<uint8_t> codes(64), packed(64 * bits / 8);
    for (int j = 0; j < 64; ++j) codes[j] = static_cast<uint8_t>((j * 37 + 11) % (1 << bits));
    quant::pack_codes(codes.data(), 64, bits, packed.data());
    for (int j = 0; j < 64; ++j) EXPECT_EQ(quant::unpack_code(packed.data(), j, bits), codes[j]);
  }
}

}  // namespace
}  // namespace mlxlm
