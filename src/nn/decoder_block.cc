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
  float* normed = scratch(ScratchSlot::BlockNormed, n);
  float* delta = scratch(ScratchSlot::BlockDelta, n);
  input_norm_.forward(x, rows, normed);
  attention_.forward(normed, batch, length, cache, delta);
  kernels::add_inplace(x, delta, n);
  post_attention_norm_.forward(x, rows, normed);
  mlp_.forward(normed, rows, delta);
  kernels::add_inplace(x, delta, n);
}

}  // namespace mlxlm
