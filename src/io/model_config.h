#pragma once
// config.json of a model folder, with generation_config.json's eos_token_id taking precedence
// (as in mlx-lm).
#include <string>
#include <vector>

#include "io/json.h"

namespace mlxlm {

struct ModelConfig {
  std::string dir;
  Json json;                           // config.json as written
  std::vector<int32_t> eos_token_ids;  // generation_config.json's, else config.json's
  std::string model_type;
};

ModelConfig load_model_config(const std::string& dir);

// Reads an int-or-list-of-ints JSON value (eos_token_id style).
std::vector<int32_t> json_int_list(const Json& value, const std::string& what);

}  // namespace mlxlm
