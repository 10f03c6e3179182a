#include "engine/prompt_cache_store.h"

#include <algorithm>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <vector>

#include "base/error.h"
#include "base/mapped_file.h"
#include "io/json.h"

namespace mlxlm {

ModelFingerprint fingerprint_of(const LoadedModel& model) {
  const ModelInfo& info = model.model->info();
  ModelFingerprint fp;
  fp.model_type = info.model_type;
  fp.num_layers = info.num_layers;
  fp.n_kv_heads = info.n_kv_heads;
  fp.head_dim = info.head_dim;
  fp.dtype = std::string(dtype_name(info.dtype));
  hash_model_files(fp, model.path);
  return fp;
}

std::string tokenizer_config_text(const LoadedModel& model, const std::string& eos_token) {
  const std::string path = model.path + "/tokenizer_config.json";
  Json config = Json::object();
  if (std::filesystem::exists(path)) config = read_json_file(path);
  if (!config.is_object()) {
    throw InvalidInput("engine", path + " is not a JSON object");
  }
  if (!eos_token.empty()) config["eos_token"] = eos_token;
  return config.dump();
}

std::string save_model_prompt_cache(const std::string& path, const PromptCache& cache,
                                    const LoadedModel& model, const std::string& model_name,
                                    const std::string& tokenizer_config, const DraftPart& draft) {
  std::map<std::string, std::string> meta = {
      {"model", model_name},
      {"tokenizer_config", tokenizer_config},
      {kFingerprintKey, fingerprint_json(fingerprint_of(model))}};
  int64_t layers = model.model->info().num_layers;
  if (draft.model != nullptr) {
    meta[kDraftModelKey] = draft.name;
    meta[kDraftFingerprintKey] = fingerprint_json(fingerprint_of(*draft.model));
    layers += draft.model->model->info().num_layers;
  }
  if (static_cast<int64_t>(cache.size()) != layers) {
    throw std::logic_error("save_model_prompt_cache: " + std::to_string(cache.size()) +
                           " cache layers where the model" +
                           (draft.model != nullptr ? " and its draft have " : " has ") +
                           std::to_string(layers));
  }
  std::vector<DType> dtypes(cache.size(), model.model->info().dtype);
  if (draft.model != nullptr) {
    std::fill(dtypes.begin() + model.model->info().num_layers, dtypes.end(),
              draft.model->model->info().dtype);
  }
  return save_prompt_cache(path, cache, meta, dtypes);
}

bool holds_draft_layers(const LoadedPromptCache& loaded, const LoadedModel& model) {
  return static_cast<int64_t>(loaded.cache.size()) > model.model->info().num_layers;
}

void check_prompt_cache_fits(const LoadedPromptCache& loaded, const LoadedModel& model,
                             const LoadedModel* draft) {
  const std::span<const std::unique_ptr<Cache>> all(loaded.cache);
  const auto n = static_cast<size_t>(model.model->info().num_layers);
  if (draft == nullptr || all.size() <= n) {
    check_cache_fits_model(all, loaded.metadata, fingerprint_of(model));
    return;
  }
  check_cache_fits_model(all.first(n), loaded.metadata, fingerprint_of(model));
  check_cache_fits_model(all.subspan(n), loaded.metadata, fingerprint_of(*draft),
                         kDraftFingerprintKey, "draft model");
}

}  // namespace mlxlm
