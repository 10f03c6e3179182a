#pragma once
// The decoder-only language model shared by the Llama family: embeddings, a stack of pre-norm
// blocks, a final norm and a (possibly tied) head. Architecture files choose the options.
#include <memory>
#include <vector>

#include "io/weight_store.h"
#include "models/model.h"
#include "models/transformer_args.h"
#include "nn/decoder_block.h"

namespace mlxlm {

struct DecoderOptions {
  bool qkv_bias = false;  // Qwen2 always has q/k/v biases
  bool qk_norm = false;   // Qwen3 normalises q and k per head
  std::string prefix = "model";
};

class DecoderModel : public Model {
 public:
  DecoderModel(std::string model_type, const TransformerArgs& args, const DecoderOptions& options,
               WeightStore weights);

  const ModelInfo& info() const override { return info_; }
  Tensor forward(std::span<const int32_t> tokens, int64_t batch, PromptCache& cache,
                 bool last_only) const override;
  PromptCache make_cache() const override;
  std::vector<kernels::WeightRef> step_weights() const override { return step_weights_; }

 private:
  // Embeds a [batch, length] block and runs it through every layer; returns the hidden states
  // (a scratch buffer, valid until the next pass on this thread).
  const float* run_layers(std::span<const int32_t> tokens, int64_t batch, int64_t length,
                          const std::vector<AttentionCache*>& caches) const;
  // Logits of positions [first, first + count) of every batch row of hidden states x, written
  // at position out_pos of `logits`.
  void head(const float* x, int64_t batch, int64_t length, int64_t first, int64_t count,
            Tensor& logits, int64_t out_pos) const;

  WeightStore weights_;  // owns the mapped files every module points into
  ModelInfo info_;
  std::unique_ptr<RoPE> rope_;
  Embedding embed_;
  std::vector<DecoderBlock> layers_;
  RMSNorm norm_;
  Linear lm_head_;
  std::vector<kernels::WeightRef> step_weights_;
};

}  // namespace mlxlm
