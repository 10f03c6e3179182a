#include "engine/loaded_model.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "base/env.h"
#include "base/error.h"
#include "base/mapped_file.h"
#include "mlxlm/speculative.h"
#include "models/registry.h"

namespace fs = std::filesystem;

namespace mlxlm {

std::string resolve_model_path(const std::string& name) {
  if (fs::is_directory(name)) return name;
  const bool looks_like_repo =
      std::count(name.begin(), name.end(), '/') == 1 && name[0] != '.' && name[0] != '/';
  if (looks_like_repo) {
    std::string hub = env_or(
        "HF_HUB_CACHE", env_or("HF_HOME", env_or("HOME", "") + "/.cache/huggingface") + "/hub");
    std::string repo =
        "models--" + name.substr(0, name.find('/')) + "--" + name.substr(name.find('/') + 1);
    fs::path snapshots = fs::path(hub) / repo / "snapshots";
    if (fs::is_directory(snapshots)) {
      // The snapshot that refs/main names, else any snapshot.
      std::string ref;
      fs::path main_ref = fs::path(hub) / repo / "refs" / "main";
      if (fs::exists(main_ref)) {
        ref = read_file(main_ref.string());
        ref.erase(
            std::remove_if(ref.begin(), ref.end(), [](char c) { return std::isspace(c) != 0; }),
            ref.end());
      }
      if (!ref.empty() && fs::is_directory(snapshots / ref)) return (snapshots / ref).string();
      for (const auto& e : fs::directory_iterator(snapshots)) {
        if (e.is_directory()) return e.path().string();
      }
    }
    throw FileError("engine", "model '" + name +
                                  "' is not a local folder and is not in the Hugging Face cache " +
                                  hub + " (mlxlm does not download models)");
  }
  throw FileError("engine", "model folder not found: " + name);
}

LoadedModel load_model_and_tokenizer(const std::string& name_or_path) {
  LoadedModel m;
  m.path = resolve_model_path(name_or_path);
  m.config = load_model_config(m.path);
  m.model = load_model(m.config);
  m.tokenizer = Tokenizer::load(m.path);
  m.eos_token_ids.insert(m.config.eos_token_ids.begin(), m.config.eos_token_ids.end());
  if (m.eos_token_ids.empty() && m.tokenizer->eos_token_id()) {
    m.eos_token_ids.insert(*m.tokenizer->eos_token_id());
  }
  return m;
}

LoadedModel load_draft_model(const std::string& name_or_path, const LoadedModel& target) {
  LoadedModel draft = load_model_and_tokenizer(name_or_path);
  check_draft_vocabulary(*target.model, *draft.model);
  return draft;
}

void add_eos_token(LoadedModel& loaded, const std::string& token_or_id) {
  if (auto id = loaded.tokenizer->token_to_id(token_or_id)) {
    loaded.eos_token_ids.insert(*id);
    return;
  }
  const bool numeric =
      !token_or_id.empty() && std::all_of(token_or_id.begin(), token_or_id.end(),
                                          [](char c) { return c >= '0' && c <= '9'; });
  if (numeric && token_or_id.size() < 10) {
    int32_t id = std::stoi(token_or_id);
    if (id < loaded.tokenizer->vocab_size()) {
      loaded.eos_token_ids.insert(id);
      return;
    }
  }
  throw InvalidInput("engine", "extra EOS token '" + token_or_id +
                                   "' is neither a token of the vocabulary nor a valid token id");
}

std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const std::string& prompt) {
  const std::string& bos = tokenizer.bos_token();
  bool add_special = bos.empty() || prompt.rfind(bos, 0) != 0;
  return tokenizer.encode(prompt, add_special);
}

}  // namespace mlxlm
