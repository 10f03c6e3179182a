#pragma once
// Scaled dot-product attention of new queries over a block of cached keys and values, with
// grouped-query heads (each kv head serves n_heads / n_kv_heads query heads).
#include <cstdint>

#include "tensor/dtype.h"

namespace mlxlm::kernels {

struct AttentionArgs {
  const float* q = nullptr;  // [q_len, n_heads, head_dim]
  int64_t q_len = 0;
  int64_t n_heads = 0;
  int64_t head_dim = 0;

  // Keys and values are F32, BF16 or F16 (kv_dtype), the dtype the cache stores them in.
  const void* k = nullptr;  // head h, token j at k[h * k_head_stride + j * head_dim]
  const void* v = nullptr;  // head h, token j at v[h * v_head_stride + j * v_head_dim]
  DType kv_dtype = DType::F32;
  int64_t kv_len = 0;
  int64_t n_kv_heads = 0;
  int64_t v_head_dim = 0;
  int64_t k_head_stride = 0;
  int64_t v_head_stride = 0;

  float scale = 1.0f;
  // Without `mask`: query i sits at absolute position q_offset + i and sees key j iff
  // kv_start <= j <= q_offset + i and (window == 0 or q_offset + i - j < window).
  int64_t q_offset = 0;
  int64_t window = 0;
  int64_t kv_start = 0;
  // With `mask` ([q_len, kv_len], nonzero = visible) the rule above is not used.
  const uint8_t* mask = nullptr;

  float* out = nullptr;  // [q_len, n_heads, v_head_dim]
};

void attention(const AttentionArgs& args);

}  // namespace mlxlm::kernels
