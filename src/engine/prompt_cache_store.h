#pragma once
// Prompt-cache files for a loaded model: what mlxlm cache-prompt writes (mlx-lm's "model" and
// "tokenizer_config" entries plus mlxlm's model fingerprint) and the checks generate
// --prompt-cache-file makes before it continues from one.
#include <map>
#include <optional>
#include <string>

#include "cache/model_fingerprint.h"
#include "cache/prompt_cache_file.h"
#include "engine/loaded_model.h"

namespace mlxlm {

// The fingerprint of a loaded model folder.
ModelFingerprint fingerprint_of(const LoadedModel& model);

// The tokenizer configuration to store: tokenizer_config.json of the model folder (empty object
// when absent), with `eos_token` overridden when given, as compact JSON text.
std::string tokenizer_config_text(const LoadedModel& model, const std::string& eos_token = "");

// Saves `cache` in the model's dtype with metadata model = `model_name`, tokenizer_config and
// the fingerprint; returns the path written.
std::string save_model_prompt_cache(const std::string& path, const PromptCache& cache,
                                    const LoadedModel& model, const std::string& model_name,
                                    const std::string& tokenizer_config);

// Throws InvalidInput saying why `loaded` cannot continue on `model`.
void check_prompt_cache_fits(const LoadedPromptCache& loaded, const LoadedModel& model);

}  // namespace mlxlm
