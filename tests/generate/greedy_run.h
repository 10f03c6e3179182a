#pragma once
// Greedy single-sequence generation through TokenGenerator (generate_step), keeping every token
// and its log-probabilities: the reference the generation tests compare against.
#include <span>
#include <vector>

#include "mlxlm/generate.h"

namespace mlxlm::testing {

struct Generated {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logprobs;
};

// Generates options.max_tokens tokens with `sampler` into `cache` and commits the last one, so
// the cache holds the prompt and every generated token.
inline Generated sampled_run(const Model& model, std::span<const int32_t> prompt,
                             PromptCache& cache, Sampler& sampler,
                             const GenerateStepOptions& options) {
  TokenGenerator gen(model, prompt, cache, sampler, {}, options);
  Generated r;
  while (auto s = gen.next()) {
    r.tokens.push_back(s->token);
    r.logprobs.emplace_back(s->logprobs.begin(), s->logprobs.end());
  }
  gen.commit();
  return r;
}

// sampled_run with the greedy sampler and max_tokens tokens.
inline Generated greedy_run(const Model& model, std::span<const int32_t> prompt, PromptCache& cache,
                            int max_tokens, GenerateStepOptions options = {}) {
  Sampler greedy;
  options.max_tokens = max_tokens;
  return sampled_run(model, prompt, cache, greedy, options);
}

}  // namespace mlxlm::testing
