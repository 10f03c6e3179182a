#pragma once
// Factories of the architecture files, one per file; registry.cc maps model_type to them.
#include <memory>

#include "io/model_config.h"
#include "io/weight_store.h"
#include "models/model.h"

namespace mlxlm {

std::unique_ptr<Model> make_llama(const ModelConfig& config, WeightStore weights);
std::unique_ptr<Model> make_qwen2(const ModelConfig& config, WeightStore weights);
std::unique_ptr<Model> make_qwen3(const ModelConfig& config, WeightStore weights);

}  // namespace mlxlm
