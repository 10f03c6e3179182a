#pragma once
#include <memory>
#include <string>
#include <vector>

#include "io/model_config.h"
#include "models/model.h"

namespace mlxlm {

// The architecture that serves `model_type` after aliases (mistral -> llama), or "" if none.
std::string resolve_model_type(const std::string& model_type);
// Every model_type the table knows, aliases included.
std::vector<std::string> supported_model_types();

// Reads config.json and the safetensors weights of `dir` and builds the model.
std::unique_ptr<Model> load_model(const std::string& dir);
std::unique_ptr<Model> load_model(const ModelConfig& config);

}  // namespace mlxlm
