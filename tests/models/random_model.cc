#include "random_model.h"

#include <random>

#include "base/mapped_file.h"
#include "io/safetensors.h"
#include "tensor/tensor.h"

namespace mlxlm::testing {

Json write_random_model(const std::string& dir, const RandomModelSpec& s) {
  std::mt19937 rng(s.seed);
  std::normal_distribution<float> normal(0.0f, 0.2f);
  std::vector<Tensor> storage;
  std::vector<NamedTensor> named;
  auto add = [&](const std::string& name, Shape shape, bool ones = false) {
    Tensor t(DType::F32, std::move(shape));
    for (float& v : t.span<float>()) v = ones ? 1.0f + 0.1f * normal(rng) : normal(rng);
    storage.push_back(std::move(t));
    named.push_back({name, storage.back().view()});
  };
  const int hd = s.hidden / s.heads;
  const bool qkv_bias = s.model_type == "qwen2" || s.attention_bias;
  storage.reserve(64 + 16 * s.layers);
  add("model.embed_tokens.weight", {s.vocab, s.hidden});
  if (!s.tied) add("lm_head.weight", {s.vocab, s.hidden});
  add("model.norm.weight", {s.hidden}, true);
  for (int i = 0; i < s.layers; ++i) {
    std::string p = "model.layers." + std::to_string(i);
    add(p + ".input_layernorm.weight", {s.hidden}, true);
    add(p + ".post_attention_layernorm.weight", {s.hidden}, true);
    add(p + ".self_attn.q_proj.weight", {s.heads * hd, s.hidden});
    add(p + ".self_attn.k_proj.weight", {s.kv_heads * hd, s.hidden});
    add(p + ".self_attn.v_proj.weight", {s.kv_heads * hd, s.hidden});
    add(p + ".self_attn.o_proj.weight", {s.hidden, s.heads * hd});
    if (qkv_bias) {
      add(p + ".self_attn.q_proj.bias", {s.heads * hd});
      add(p + ".self_attn.k_proj.bias", {s.kv_heads * hd});
      add(p + ".self_attn.v_proj.bias", {s.kv_heads * hd});
    }
    if (s.model_type == "qwen3") {
      add(p + ".self_attn.q_norm.weight", {hd}, true);
      add(p + ".self_attn.k_norm.weight", {hd}, true);
    }
    add(p + ".mlp.gate_proj.weight", {s.intermediate, s.hidden});
    add(p + ".mlp.up_proj.weight", {s.intermediate, s.hidden});
    add(p + ".mlp.down_proj.weight", {s.hidden, s.intermediate});
  }
  save_safetensors(dir + "/model.safetensors", named, {{"format", "pt"}});

  Json config = {{"model_type", s.model_type},
                 {"hidden_size", s.hidden},
                 {"num_hidden_layers", s.layers},
                 {"num_attention_heads", s.heads},
                 {"num_key_value_heads", s.kv_heads},
                 {"intermediate_size", s.intermediate},
                 {"vocab_size", s.vocab},
                 {"tie_word_embeddings", s.tied},
                 {"attention_bias", s.attention_bias},
                 {"rms_norm_eps", 1e-5},
                 {"rope_theta", 10000.0},
                 {"max_position_embeddings", 512}};
  config.update(s.extra);
  write_file_atomic(dir + "/config.json", config.dump(2));
  return config;
}

}  // namespace mlxlm::testing
