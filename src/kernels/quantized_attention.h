#pragma once
// Scaled dot-product attention over affine-quantized keys and values (mlx format, spec 4.4),
// computed on the codes without dequantizing the cache: per group, q·k = scale * (q·codes) +
// bias * sum(q). Masking follows kernels/attention.h.
#include <cstdint>

namespace mlxlm::kernels {

struct QuantizedAttentionArgs {
  const float* q = nullptr;  // [q_len, n_heads, head_dim]
  int64_t q_len = 0;
  int64_t n_heads = 0;
  int64_t head_dim = 0;
  int64_t v_head_dim = 0;
  int64_t kv_len = 0;
  int64_t n_kv_heads = 0;
  int bits = 8;
  int group_size = 64;

  // Head h, token j of the keys: codes at k_codes + h * k_codes_head_stride + j * head_dim *
  // bits / 32, scales/biases at h * k_groups_head_stride + j * head_dim / group_size.
  const uint32_t* k_codes = nullptr;
  const float* k_scales = nullptr;
  const float* k_biases = nullptr;
  int64_t k_codes_head_stride = 0;
  int64_t k_groups_head_stride = 0;
  const uint32_t* v_codes = nullptr;
  const float* v_scales = nullptr;
  const float* v_biases = nullptr;
  int64_t v_codes_head_stride = 0;
  int64_t v_groups_head_stride = 0;

  float scale = 1.0f;
  // Without `mask`: query i at absolute position q_offset + i sees key j iff j <= q_offset + i
  // and (window == 0 or q_offset + i - j < window). With `mask` ([q_len, kv_len], nonzero =
  // visible) that rule is not used.
  int64_t q_offset = 0;
  int64_t window = 0;
  const uint8_t* mask = nullptr;

  float* out = nullptr;  // [q_len, n_heads, v_head_dim]
};

void quantized_attention(const QuantizedAttentionArgs& args);

// Unpacks `n` codes of `bits` bits from a little-endian bitstream into floats.
void unpack_codes(const uint32_t* words, int64_t n, int bits, float* out);

}  // namespace mlxlm::kernels
