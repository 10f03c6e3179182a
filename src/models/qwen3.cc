// Qwen3: the Llama decoder with per-head RMSNorm on queries and keys before RoPE.
#include "models/architectures.h"
#include "models/decoder_model.h"

namespace mlxlm {

std::unique_ptr<Model> make_qwen3(const ModelConfig& config, WeightStore weights) {
  TransformerArgs args = parse_transformer_args(config.json, config.dir + "/config.json");
  DecoderOptions options;
  options.qkv_bias = args.attention_bias;
  options.qk_norm = true;
  return std::make_unique<DecoderModel>(config.model_type, args, options, std::move(weights));
}

}  // namespace mlxlm
