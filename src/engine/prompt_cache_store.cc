#include "engine/prompt_cache_store.h"

#include <filesystem>

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
                                    const std::string& tokenizer_config) {
  std::map<std::string, std::string> meta = {
      {"model", model_name},
      {"tokenizer_config", tokenizer_config},
      {kFingerprintKey, fingerprint_json(fingerprint_of(model))}};
  return save_prompt_cache(path, cache, meta, model.model->info().dtype);
}

void check_prompt_cache_fits(const LoadedPromptCache& loaded, const LoadedModel& model) {
  check_cache_fits_model(loaded.cache, loaded.metadata, fingerprint_of(model));
}

}  // namespace mlxlm
