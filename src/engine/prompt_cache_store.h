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

// The user metadata entry naming the draft model of a cache made for speculative decoding.
inline constexpr const char* kDraftModelKey = "draft_model";

// A draft model for speculative decoding, as a prompt-cache file records it.
struct DraftPart {
  const LoadedModel* model = nullptr;
  std::string name;  // as the user gave it (--draft-model)
};

// Saves `cache` in the model's dtype with metadata model = `model_name`, tokenizer_config and
// the fingerprint; returns the path written. With a draft, `cache` holds the model's layers and
// then the draft's, in the draft's dtype (mlx-lm's layout, which its generate --draft-model
// splits the same way), and the metadata also records draft_model and the draft's fingerprint.
std::string save_model_prompt_cache(const std::string& path, const PromptCache& cache,
                                    const LoadedModel& model, const std::string& model_name,
                                    const std::string& tokenizer_config,
                                    const DraftPart& draft = {});

// Throws InvalidInput saying why `loaded` cannot continue on `model`. With a draft model the
// cache may also hold the draft's layers after the model's, which must then fit the draft.
void check_prompt_cache_fits(const LoadedPromptCache& loaded, const LoadedModel& model,
                             const LoadedModel* draft = nullptr);

// Whether `loaded` holds draft-model layers after those of `model` (checked by
// check_prompt_cache_fits).
bool holds_draft_layers(const LoadedPromptCache& loaded, const LoadedModel& model);

}  // namespace mlxlm
