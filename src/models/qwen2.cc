// Qwen2: the Llama decoder with biases on the q, k and v projections (never on o_proj).
#include "models/architectures.h"
#include "models/decoder_model.h"

namespace mlxlm {

std::unique_ptr<Model> make_qwen2(const ModelConfig& config, WeightStore weights) {
  TransformerArgs args = parse_transformer_args(config.json, config.dir + "/config.json");
  args.rope_theta = json_get<double>(config.json, "rope_theta", 1000000.0, config.dir);
  DecoderOptions options;
  // Qwen2 configs rarely say it, but the q/k/v biases are always there.
  options.qkv_bias = true;
  return std::make_unique<DecoderModel>(config.model_type, args, options, std::move(weights));
}

}  // namespace mlxlm
