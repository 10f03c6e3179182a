#include "nn/decoder_block.h"

#include <vector>

#include "kernels/ops.h"
#include "nn/scratch.h"

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
  // The attention block and the MLP write their output over their input (both allow it): one
  // buffer serves as the normed input and the update, 8 KiB a token less for Llama-3.2-1B.
  float* normed = scratch(ScratchSlot::BlockNormed, n);
  input_norm_.forward(x, rows, normed);
  attention_.forward(normed, batch, length, cache, normed);
  kernels::add_inplace(x, normed, n);
  post_attention_norm_.forward(x, rows, normed);
  mlp_.forward(normed, rows, normed);
  kernels::add_inplace(x, normed, n);
}

}  // namespace mlxlm
