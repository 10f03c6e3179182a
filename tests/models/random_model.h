#pragma once
// Writes tiny random-weight model folders (config.json + model.safetensors) for tests.
#include <string>

#include "io/json.h"

namespace mlxlm::testing {

struct RandomModelSpec {
  std::string model_type = "llama";
  int hidden = 64;
  int layers = 2;
  int heads = 4;
  int kv_heads = 2;
  int intermediate = 96;
  int vocab = 128;
  bool tied = true;
  bool attention_bias = false;  // llama-style explicit flag (qwen2 always has q/k/v bias)
  unsigned seed = 1;
  Json extra = Json::object();  // merged into config.json
};

// Writes the folder and returns its config.json contents.
Json write_random_model(const std::string& dir, const RandomModelSpec& spec);

}  // namespace mlxlm::testing
