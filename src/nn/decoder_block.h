#pragma once
// The pre-norm transformer block shared by Llama, Qwen2, Qwen3, Mistral and friends:
//   h = x + attn(norm1(x)); out = h + mlp(norm2(h)).
#include "nn/attention.h"
#include "nn/mlp.h"

namespace mlxlm {

class DecoderBlock {
 public:
  DecoderBlock(RMSNorm input_norm, Attention attention, RMSNorm post_attention_norm, GatedMLP mlp);
  // Updates x [batch * length, hidden] in place.
  void forward(float* x, int64_t batch, int64_t length, AttentionCache& cache) const;

 private:
  RMSNorm input_norm_;
  Attention attention_;
  RMSNorm post_attention_norm_;
  GatedMLP mlp_;
};

}  // namespace mlxlm
