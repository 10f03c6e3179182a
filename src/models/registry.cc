// The explicit model_type table (mlx-lm's _get_classes + MODEL_REMAPPING). A new architecture is
// one new file plus one row here; nothing registers itself.
#include "models/registry.h"

#include <map>

#include "base/error.h"
#include "io/weight_store.h"
#include "models/architectures.h"

namespace mlxlm {
namespace {

using Factory = std::unique_ptr<Model> (*)(const ModelConfig&, WeightStore);

const std::map<std::string, Factory>& architectures() {
  static const std::map<std::string, Factory> table = {
      {"llama", make_llama},
      {"qwen2", make_qwen2},
      {"qwen3", make_qwen3},
  };
  return table;
}

const std::map<std::string, std::string>& aliases() {
  static const std::map<std::string, std::string> table = {
      {"mistral", "llama"},
      {"iquestcoder", "llama"},
  };
  return table;
}

}  // namespace

std::string resolve_model_type(const std::string& model_type) {
  auto a = aliases().find(model_type);
  const std::string& name = a == aliases().end() ? model_type : a->second;
  return architectures().count(name) != 0 ? name : "";
}

std::vector<std::string> supported_model_types() {
  std::vector<std::string> out;
  for (const auto& [name, f] : architectures()) out.push_back(name);
  for (const auto& [name, target] : aliases()) out.push_back(name);
  return out;
}

std::unique_ptr<Model> load_model(const ModelConfig& config) {
  std::string arch = resolve_model_type(config.model_type);
  if (arch.empty()) {
    std::string known;
    for (const auto& t : supported_model_types()) known += (known.empty() ? "" : ", ") + t;
    throw InvalidInput("models", config.dir + ": model_type '" + config.model_type +
                                     "' is not supported (supported: " + known + ")");
  }
  return architectures().at(arch)(config, WeightStore::open_dir(config.dir));
}

std::unique_ptr<Model> load_model(const std::string& dir) {
  return load_model(load_model_config(dir));
}

}  // namespace mlxlm
