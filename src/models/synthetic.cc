#include "models/synthetic.h"

#include <cmath>
#include <filesystem>

#include "base/error.h"
#include "base/mapped_file.h"
#include "base/thread_pool.h"
#include "io/json.h"
#include "models/model_folder.h"
#include "tensor/tensor.h"

namespace fs = std::filesystem;

namespace mlxlm {
namespace {

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t hash_name(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Fills a bf16 tensor with N(0, stddev). Every 64Ki-value chunk has its own generator seeded
// from (seed, tensor name, chunk), so the values do not depend on the thread count.
void fill_normal_bf16(Tensor& t, const std::string& name, uint64_t seed, float stddev) {
  constexpr int64_t kChunk = 1 << 16;
  const int64_t n = t.numel();
  auto* out = t.data<uint16_t>();
  const uint64_t base = seed * 0x9E3779B97F4A7C15ull ^ hash_name(name);
  ThreadPool::global().parallel_for((n + kChunk - 1) / kChunk, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      uint64_t s = base + static_cast<uint64_t>(c) * 0xD1B54A32D192ED03ull;
      const int64_t end = std::min(n, (c + 1) * kChunk);
      for (int64_t i = c * kChunk; i < end; i += 2) {
        // Box-Muller: two normals from two uniforms in (0, 1].
        const double u1 = (static_cast<double>(splitmix64(s) >> 11) + 1.0) * 0x1.0p-53;
        const double u2 = static_cast<double>(splitmix64(s) >> 11) * 0x1.0p-53;
        const double r = std::sqrt(-2.0 * std::log(u1)) * stddev;
        out[i] = f32_to_bf16(static_cast<float>(r * std::cos(2.0 * M_PI * u2)));
        if (i + 1 < end)
          out[i + 1] = f32_to_bf16(static_cast<float>(r * std::sin(2.0 * M_PI * u2)));
      }
    }
  });
}

}  // namespace

std::vector<std::string> synthetic_shape_names() { return {"llama-3.2-1b", "smollm2-135m"}; }

SyntheticShape synthetic_shape(const std::string& name) {
  SyntheticShape s;
  s.name = name;
  if (name == "llama-3.2-1b") {
    s.hidden = 2048;
    s.layers = 16;
    s.heads = 32;
    s.kv_heads = 8;
    s.intermediate = 8192;
    s.vocab = 128256;
    s.rope_theta = 500000.0;
    s.max_position_embeddings = 131072;
    s.bos_token_id = 128000;
    s.eos_token_id = 128001;
    s.llama3_rope_scaling = true;
    return s;
  }
  if (name == "smollm2-135m") {
    s.hidden = 576;
    s.layers = 30;
    s.heads = 9;
    s.kv_heads = 3;
    s.intermediate = 1536;
    s.vocab = 49152;
    s.rope_theta = 100000.0;
    s.max_position_embeddings = 8192;
    s.bos_token_id = 1;
    s.eos_token_id = 2;
    return s;
  }
  std::string known;
  for (const auto& n : synthetic_shape_names()) known += (known.empty() ? "" : ", ") + n;
  throw InvalidInput("synth", "unknown shape '" + name + "' (known: " + known + ")");
}

void write_synthetic_model(const SyntheticShape& s, const std::string& out_dir,
                           const SynthOptions& options) {
  if (fs::exists(out_dir)) throw InvalidInput("synth", out_dir + " already exists");
  const int64_t hd = s.hidden / s.heads;
  std::vector<std::pair<std::string, Tensor>> tensors;
  auto add = [&](const std::string& name, Shape shape, bool ones) {
    Tensor t(DType::BF16, std::move(shape));
    if (ones) {
      for (auto& v : t.span<uint16_t>()) v = f32_to_bf16(1.0f);
    } else {
      fill_normal_bf16(t, name, options.seed, 0.02f);
    }
    tensors.emplace_back(name, std::move(t));
  };
  add("model.embed_tokens.weight", {s.vocab, s.hidden}, false);
  add("model.norm.weight", {s.hidden}, true);
  for (int64_t i = 0; i < s.layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i);
    add(p + ".input_layernorm.weight", {s.hidden}, true);
    add(p + ".post_attention_layernorm.weight", {s.hidden}, true);
    add(p + ".self_attn.q_proj.weight", {s.heads * hd, s.hidden}, false);
    add(p + ".self_attn.k_proj.weight", {s.kv_heads * hd, s.hidden}, false);
    add(p + ".self_attn.v_proj.weight", {s.kv_heads * hd, s.hidden}, false);
    add(p + ".self_attn.o_proj.weight", {s.hidden, s.heads * hd}, false);
    add(p + ".mlp.gate_proj.weight", {s.intermediate, s.hidden}, false);
    add(p + ".mlp.up_proj.weight", {s.intermediate, s.hidden}, false);
    add(p + ".mlp.down_proj.weight", {s.hidden, s.intermediate}, false);
  }

  Json config = {{"architectures", {"LlamaForCausalLM"}},
                 {"model_type", "llama"},
                 {"hidden_size", s.hidden},
                 {"num_hidden_layers", s.layers},
                 {"num_attention_heads", s.heads},
                 {"num_key_value_heads", s.kv_heads},
                 {"head_dim", hd},
                 {"intermediate_size", s.intermediate},
                 {"vocab_size", s.vocab},
                 {"tie_word_embeddings", true},
                 {"attention_bias", false},
                 {"mlp_bias", false},
                 {"hidden_act", "silu"},
                 {"rms_norm_eps", s.rms_norm_eps},
                 {"rope_theta", s.rope_theta},
                 {"max_position_embeddings", s.max_position_embeddings},
                 {"bos_token_id", s.bos_token_id},
                 {"eos_token_id", s.eos_token_id},
                 {"torch_dtype", "bfloat16"},
                 {"initializer_range", 0.02}};
  if (s.llama3_rope_scaling) {
    config["rope_scaling"] = {{"factor", 32.0},
                              {"high_freq_factor", 4.0},
                              {"low_freq_factor", 1.0},
                              {"original_max_position_embeddings", 8192},
                              {"rope_type", "llama3"}};
  }

  ModelFolderWriter folder(out_dir);
  folder.write_weights(tensors, {{"format", "pt"}});
  folder.write_text("config.json", config.dump(2) + "\n");
  if (!options.tokenizer_dir.empty()) folder.copy_tokenizer_files(options.tokenizer_dir);
  folder.commit();
}

}  // namespace mlxlm
