#pragma once
// A model folder loaded for generation: the model, its tokenizer and its EOS ids, resolved the
// way mlx-lm's TokenizerWrapper does it.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "io/model_config.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"

namespace mlxlm {

struct LoadedModel {
  std::string path;
  ModelConfig config;
  std::unique_ptr<Model> model;
  std::shared_ptr<const Tokenizer> tokenizer;
  // config.json / generation_config.json eos_token_id, else the tokenizer's EOS, plus extras.
  std::set<int32_t> eos_token_ids;
};

// A local folder, or "org/name" found in the Hugging Face hub cache ($HF_HOME/hub or
// ~/.cache/huggingface/hub). Nothing is downloaded; an unknown name is an error that says so.
std::string resolve_model_path(const std::string& name_or_path);

LoadedModel load_model_and_tokenizer(const std::string& name_or_path);

// Loads a draft model for speculative decoding with `target`: its vocabulary size must be the
// target's (mlx-lm's check), else InvalidInput names both sizes.
LoadedModel load_draft_model(const std::string& name_or_path, const LoadedModel& target);

// Adds an EOS token given as a token string or a decimal id (--extra-eos-token).
void add_eos_token(LoadedModel& loaded, const std::string& token_or_id);

// Encodes a raw prompt as stream_generate does: special tokens are added unless the text
// already starts with the BOS token.
std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const std::string& prompt);

}  // namespace mlxlm
