#include "models/transformer_args.h"

namespace mlxlm {
namespace {

RopeScaling parse_rope_scaling(const Json& config, const TransformerArgs& args,
                               const std::string& what) {
  RopeScaling s;
  s.original_max_position_embeddings = static_cast<double>(args.max_position_embeddings);
  auto it = config.find("rope_scaling");
  if (it == config.end() || it->is_null()) return s;
  if (!it->is_object()) throw InvalidInput("config", what + ": rope_scaling must be an object");
  const Json& r = *it;
  std::string type = json_get<std::string>(r, "rope_type", "", what);
  if (type.empty()) type = json_get<std::string>(r, "type", "default", what);
  s.type = type;
  s.factor = json_get<double>(r, "factor", 1.0, what);
  s.low_freq_factor = json_get<double>(r, "low_freq_factor", 1.0, what);
  s.high_freq_factor = json_get<double>(r, "high_freq_factor", 4.0, what);
  s.original_max_position_embeddings = json_get<double>(r, "original_max_position_embeddings",
                                                        s.original_max_position_embeddings, what);
  s.beta_fast = json_get<double>(r, "beta_fast", 32.0, what);
  s.beta_slow = json_get<double>(r, "beta_slow", 1.0, what);
  s.mscale = json_get<double>(r, "mscale", 1.0, what);
  s.mscale_all_dim = json_get<double>(r, "mscale_all_dim", 0.0, what);
  s.attention_factor = json_get<double>(r, "attention_factor", 0.0, what);
  s.truncate = json_get<bool>(r, "truncate", true, what);
  return s;
}

QuantParams parse_params(const Json& j, const QuantParams& fallback, const std::string& what) {
  QuantParams p = fallback;
  p.bits = json_get<int>(j, "bits", fallback.bits, what);
  p.group_size = json_get<int>(j, "group_size", fallback.group_size, what);
  p.mode = parse_quant_mode(json_get<std::string>(j, "mode", "affine", what));
  if (p.mode == QuantMode::MxFp4 && !j.contains("group_size")) p.group_size = 32;
  return p;
}

}  // namespace

QuantConfig parse_quant_config(const Json& config, const std::string& what) {
  QuantConfig q;
  auto it = config.find("quantization");
  if (it == config.end() || it->is_null()) it = config.find("quantization_config");
  if (it == config.end() || it->is_null()) return q;
  if (!it->is_object()) throw InvalidInput("config", what + ": quantization must be an object");
  q.enabled = true;
  q.global = parse_params(*it, QuantParams{}, what + ": quantization");
  for (auto e = it->begin(); e != it->end(); ++e) {
    if (e->is_boolean() && !e->get<bool>()) {
      q.overrides[e.key()] = std::nullopt;
    } else if (e->is_object()) {
      q.overrides[e.key()] = parse_params(*e, q.global, what + ": quantization." + e.key());
    }
  }
  return q;
}

TransformerArgs parse_transformer_args(const Json& c, const std::string& what) {
  TransformerArgs a;
  a.hidden_size = json_require<int64_t>(c, "hidden_size", what);
  a.num_hidden_layers = json_require<int64_t>(c, "num_hidden_layers", what);
  a.intermediate_size = json_require<int64_t>(c, "intermediate_size", what);
  a.num_attention_heads = json_require<int64_t>(c, "num_attention_heads", what);
  a.num_key_value_heads = json_get<int64_t>(c, "num_key_value_heads", a.num_attention_heads, what);
  a.vocab_size = json_require<int64_t>(c, "vocab_size", what);
  if (a.hidden_size <= 0 || a.num_hidden_layers <= 0 || a.num_attention_heads <= 0 ||
      a.num_key_value_heads <= 0 || a.vocab_size <= 0 || a.intermediate_size <= 0) {
    throw InvalidInput("config", what + ": sizes must be positive");
  }
  a.head_dim = json_get<int64_t>(c, "head_dim", a.hidden_size / a.num_attention_heads, what);
  a.max_position_embeddings = json_get<int64_t>(c, "max_position_embeddings", 2048, what);
  a.rms_norm_eps = json_get<double>(c, "rms_norm_eps", 1e-6, what);
  a.rope_theta = json_get<double>(c, "rope_theta", 10000.0, what);
  a.partial_rotary_factor = json_get<double>(c, "partial_rotary_factor", 1.0, what);
  a.tie_word_embeddings = json_get<bool>(c, "tie_word_embeddings", false, what);
  a.attention_bias = json_get<bool>(c, "attention_bias", false, what);
  a.mlp_bias = json_get<bool>(c, "mlp_bias", false, what);
  a.rope_scaling = parse_rope_scaling(c, a, what);
  a.quantization = parse_quant_config(c, what);
  const std::string dtype = json_get<std::string>(c, "torch_dtype", "float32", what);
  if (dtype == "bfloat16") a.kv_dtype = DType::BF16;
  if (dtype == "float16") a.kv_dtype = DType::F16;
  return a;
}

}  // namespace mlxlm
