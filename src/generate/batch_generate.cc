#include <map>

#include "base/error.h"
#include "mlxlm/batch.h"
#include "tokenizer/tokenizer.h"

namespace mlxlm {

BatchGenerateResult batch_generate(const Model& model, const Tokenizer& tokenizer,
                                   const std::vector<std::vector<int32_t>>& prompts,
                                   const std::vector<int>& max_tokens,
                                   const std::set<int32_t>& eos_token_ids,
                                   BatchGeneratorOptions options,
                                   const std::vector<const PromptCache*>& prompt_caches) {
  if (!max_tokens.empty() && max_tokens.size() != 1 && max_tokens.size() != prompts.size()) {
    throw InvalidInput("generate", "max_tokens must be one value or one per prompt");
  }
  if (!prompt_caches.empty() && prompt_caches.size() != prompts.size()) {
    throw InvalidInput("generate", "prompt_caches must be empty or one per prompt");
  }
  for (int32_t eos : eos_token_ids) options.stop_tokens.push_back({eos});
  BatchGenerator gen(model, options);
  std::vector<BatchRequest> requests(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    requests[i].prompt = prompts[i];
    if (!prompt_caches.empty()) requests[i].cache = prompt_caches[i];
    if (!max_tokens.empty())
      requests[i].max_tokens = max_tokens.size() == 1 ? max_tokens[0] : max_tokens[i];
  }
  std::vector<uint64_t> uids = gen.insert(std::move(requests));
  std::map<uint64_t, size_t> row;
  for (size_t i = 0; i < uids.size(); ++i) row[uids[i]] = i;

  BatchGenerateResult result;
  result.token_ids.resize(prompts.size());
  result.logprobs.resize(prompts.size());
  result.caches.resize(prompts.size());
  result.errors.resize(prompts.size());
  while (!gen.done()) {
    for (auto& r : gen.next_generated()) {
      size_t i = row.at(r.uid);
      // The stop token itself is not part of the output; a sequence that failed before its
      // first token reports none.
      if (r.finish_reason != "stop" && r.token >= 0) {
        result.token_ids[i].push_back(r.token);
        result.logprobs[i].push_back(r.logprobs[r.token]);
      }
      result.errors[i] = std::move(r.error);
      if (!r.finish_reason.empty()) result.caches[i] = std::move(r.prompt_cache);
    }
  }
  for (const auto& ids : result.token_ids) result.texts.push_back(tokenizer.decode(ids));
  result.stats = gen.stats();
  return result;
}

}  // namespace mlxlm
