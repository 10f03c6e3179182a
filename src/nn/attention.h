#pragma once
// Multi-head attention with grouped-query heads, optional q/k RMSNorm (Qwen3) and biases
// (Qwen2), rotary positions, and a cache that holds past keys and values.
#include <optional>

#include "cache/cache.h"
#include "nn/linear.h"
#include "nn/rope.h"

namespace mlxlm {

struct AttentionConfig {
  int64_t hidden_size = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  float scale = 0.0f;           // 0 = 1/sqrt(head_dim)
  int64_t sliding_window = 0;   // 0 = full attention
  DType kv_dtype = DType::F32;  // new keys and values go to the cache in this dtype
};

struct AttentionWeights {
  Linear q_proj, k_proj, v_proj, o_proj;
  std::optional<RMSNorm> q_norm, k_norm;  // per-head norms over head_dim
};

class Attention {
 public:
  Attention(const AttentionConfig& config, AttentionWeights weights, const RoPE* rope);

  // x [batch * length, hidden] -> out [batch * length, hidden]; appends to `cache`. Positions
  // come from the cache's per-row offsets and visibility from the cache's mask, so plain,
  // rotating, quantized and left-padded batch caches all work unchanged. `out` may be `x`: x is
  // read in full before out is written.
  void forward(const float* x, int64_t batch, int64_t length, AttentionCache& cache,
               float* out) const;

 private:
  AttentionConfig cfg_;
  AttentionWeights w_;
  const RoPE* rope_;
};

// Transposes x [B, L, H, D] into a new [B, H, L, D] tensor of `dtype` (F32, BF16 or F16).
Tensor to_heads_major(const float* x, int64_t batch, int64_t length, int64_t heads, int64_t dim,
                      DType dtype = DType::F32);

}  // namespace mlxlm
