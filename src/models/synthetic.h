#pragma once
// Random-weight models in Hugging Face layout from a named shape, so that benchmarks need no
// downloads: weights N(0, 0.02), norms 1, deterministic from a seed, stored in bf16.
#include <cstdint>
#include <string>
#include <vector>

namespace mlxlm {

struct SyntheticShape {
  std::string name;
  int64_t hidden = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t intermediate = 0;
  int64_t vocab = 0;
  double rope_theta = 10000.0;
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-5;
  int64_t bos_token_id = 1;
  int64_t eos_token_id = 2;
  bool llama3_rope_scaling = false;  // Llama 3.2's rope_scaling block
};

// "llama-3.2-1b", "smollm2-135m"; throws InvalidInput naming the known shapes otherwise.
SyntheticShape synthetic_shape(const std::string& name);
std::vector<std::string> synthetic_shape_names();

struct SynthOptions {
  uint64_t seed = 0;
  std::string tokenizer_dir;  // when set, tokenizer files found there are copied
};

// Writes config.json, model.safetensors (+ index) and optional tokenizer files into `out_dir`
// (created; must not exist yet). The folder appears atomically: it is built beside `out_dir`
// and renamed into place.
void write_synthetic_model(const SyntheticShape& shape, const std::string& out_dir,
                           const SynthOptions& options);

}  // namespace mlxlm
