#pragma once
// The config.json fields shared by Llama-family models, with the defaults Hugging Face uses.
#include <string>

#include "io/model_config.h"
#include "nn/rope.h"
#include "quant/quant_config.h"

namespace mlxlm {

struct TransformerArgs {
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t intermediate_size = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // default: num_attention_heads
  int64_t head_dim = 0;             // default: hidden_size / num_attention_heads
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  double partial_rotary_factor = 1.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  bool mlp_bias = false;
  QuantConfig quantization;
  // The dtype the KV cache stores keys and values in: the model's own (torch_dtype), as in
  // mlx-lm, so a bf16 or f16 model reads half the cache bytes per token. F32 otherwise.
  DType kv_dtype = DType::F32;
};

// Parses the common fields; `what` names the file in error messages.
TransformerArgs parse_transformer_args(const Json& config, const std::string& what);
QuantConfig parse_quant_config(const Json& config, const std::string& what);

}  // namespace mlxlm
