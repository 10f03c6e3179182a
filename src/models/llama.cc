// Llama (and Mistral through the alias table): the plain pre-norm decoder.
#include "models/architectures.h"
#include "models/decoder_model.h"

namespace mlxlm {

std::unique_ptr<Model> make_llama(const ModelConfig& config, WeightStore weights) {
  TransformerArgs args = parse_transformer_args(config.json, config.dir + "/config.json");
  DecoderOptions options;
  options.qkv_bias = args.attention_bias;
  return std::make_unique<DecoderModel>(config.model_type, args, options, std::move(weights));
}

}  // namespace mlxlm
