#include "nn/decoder_block.h"

#include <vector>

#include "kernels/ops.h"

namespace mlxlm {

DecoderBlock::DecoderBlock(RMSNorm input_norm, Attention attention, RMSNorm post_attention_norm,
                           GatedMLP mlp)
    : input_norm_(std::move(input_norm)),
      attention_(std::move(attention)),
      post_attention_norm_(std::move(post_attention_norm)),
      mlp_(std::move(mlp)) {}

void DecoderBlock::forward(float* x, int64_t batch, int64_t length, AttentionCache& cache) const {
  const int64_t rows = batch * length;
  const int64_t n = rows * input_norm_.dim();
  std::vector<float> normed(n), delta(n);
  input_norm_.forward(x, rows, normed.data());
  attention_.forward(normed.data(), batch, length, cache, delta.data());
  kernels::add_inplace(x, delta.data(), n);
  post_attention_norm_.forward(x, rows, normed.data());
  mlp_.forward(normed.data(), rows, delta.data());
  kernels::add_inplace(x, delta.data(), n);
}

}  // namespace mlxlm
