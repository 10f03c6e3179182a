// Affine KV quantization (mx.quantize's rule, spec 4.4) and attention on the quantized cache.
#include <cmath>

#include "base/error.h"
#include "cache/kv_quantize.h"
#include "cache/quantized_kv_cache.h"
#include "cache_test_util.h"
#include "kernels/attention.h"
#include "kernels/quantized_attention.h"

namespace mlxlm {
namespace {

using testing::uniform;

TEST(KVQuantize, RoundTripWithinHalfAStep) {
  for (int bits : {2, 3, 4, 6, 8}) {
    for (int gs : {16, 32, 64}) {
      Tensor x = uniform({1, 2, 5, 64}, bits * 100 + gs);
      for (auto& v : x.span<float>()) v = v * 6.0f - 2.0f;
      QuantizedTokens q = quantize_tokens(x, gs, bits);
      EXPECT_EQ(q.codes.shape(), (Shape{1, 2, 5, 64 * bits / 32}));
      EXPECT_EQ(q.scales.shape(), (Shape{1, 2, 5, 64 / gs}));
      Tensor y = dequantize_tokens(q.codes, q.scales, q.biases, gs, bits);
      for (int64_t i = 0; i < x.numel(); ++i) {
        const float scale = std::abs(q.scales.data<float>()[i / gs]);
        // Half a step inside the range; mlx's zero-exact rescaling (scale = edge / q0) can leave
        // the far end of a group short by up to one original step, |s0| <= |scale| (1 + 1/n).
        const float n = static_cast<float>((1 << bits) - 1);
        const float bound = scale * (1.0f + 1.0f / n);
        EXPECT_LE(std::abs(x.data<float>()[i] - y.data<float>()[i]), bound + 1e-5f)
            << "bits " << bits << " gs " << gs << " i " << i;
      }
    }
  }
}

TEST(KVQuantize, HandPackedFourBitGroup) {
  // One group of 32 values 0..31 (min 0, max 31): |min| <= |max| so the edge is the max and the
  // scale is negated: scale = -(31/15), q0 = rint(31 / scale) = -15, scale = 31 / -15, bias = 31.
  Tensor x(DType::F32, {1, 1, 1, 32});
  for (int i = 0; i < 32; ++i) x.data<float>()[i] = static_cast<float>(i);
  QuantizedTokens q = quantize_tokens(x, 32, 4);
  EXPECT_FLOAT_EQ(q.scales.data<float>()[0], 31.0f / -15.0f);
  EXPECT_FLOAT_EQ(q.biases.data<float>()[0], 31.0f);
  // Value 0 -> code rint((0 - 31) / (-31/15)) = 15; value 31 -> code 0. Codes pack LSB first.
  EXPECT_EQ(q.codes.data<uint32_t>()[0] & 0xF, 15u);
  EXPECT_EQ(q.codes.data<uint32_t>()[3] >> 28, 0u);
}

TEST(KVQuantize, RejectsBadParameters) {
  Tensor x = uniform({1, 1, 1, 48}, 1);
  EXPECT_THROW(quantize_tokens(x, 32, 4), InvalidInput);
  EXPECT_THROW(quantize_tokens(x, 16, 7), InvalidInput);
  EXPECT_THROW(quantize_tokens(x, 24, 4), InvalidInput);
}

TEST(QuantizedAttention, EqualsFloatAttentionOnDequantizedValues) {
  const int64_t heads = 4, kv_heads = 2, dim = 64, q_len = 3, kv_len = 9;
  for (int bits : {4, 8}) {
    Tensor k = uniform({1, kv_heads, kv_len, dim}, 1), v = uniform({1, kv_heads, kv_len, dim}, 2);
    QuantizedTokens qk = quantize_tokens(k, 32, bits), qv = quantize_tokens(v, 32, bits);
    Tensor dk = dequantize_tokens(qk.codes, qk.scales, qk.biases, 32, bits);
    Tensor dv = dequantize_tokens(qv.codes, qv.scales, qv.biases, 32, bits);
    Tensor q = uniform({q_len, heads, dim}, 3);
    std::vector<float> ref(q_len * heads * dim), out(q_len * heads * dim);

    kernels::AttentionArgs a;
    a.q = q.data<float>();
    a.q_len = q_len;
    a.n_heads = heads;
    a.head_dim = dim;
    a.k = dk.data<float>();
    a.v = dv.data<float>();
    a.kv_len = kv_len;
    a.n_kv_heads = kv_heads;
    a.v_head_dim = dim;
    a.k_head_stride = kv_len * dim;
    a.v_head_stride = kv_len * dim;
    a.scale = 0.125f;
    a.q_offset = kv_len - q_len;
    a.out = ref.data();
    kernels::attention(a);

    KVBlock b = quantized_block(qk, qv, kv_len, 32, bits);
    kernels::QuantizedAttentionArgs qa;
    qa.q = q.data<float>();
    qa.q_len = q_len;
    qa.n_heads = heads;
    qa.head_dim = dim;
    qa.v_head_dim = dim;
    qa.kv_len = kv_len;
    qa.n_kv_heads = kv_heads;
    qa.bits = bits;
    qa.group_size = 32;
    qa.k_codes = b.qk.codes;
    qa.k_scales = b.qk.scales;
    qa.k_biases = b.qk.biases;
    qa.k_codes_head_stride = b.qk.codes_head_stride;
    qa.k_groups_head_stride = b.qk.groups_head_stride;
    qa.v_codes = b.qv.codes;
    qa.v_scales = b.qv.scales;
    qa.v_biases = b.qv.biases;
    qa.v_codes_head_stride = b.qv.codes_head_stride;
    qa.v_groups_head_stride = b.qv.groups_head_stride;
    qa.scale = 0.125f;
    qa.q_offset = kv_len - q_len;
    qa.out = out.data();
    kernels::quantized_attention(qa);
    for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], ref[i], 1e-5) << bits << " " << i;
  }
}

}  // namespace
}  // namespace mlxlm
