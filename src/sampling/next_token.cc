#include "sampling/next_token.h"

#include "kernels/ops.h"

namespace mlxlm {

void normalized_logprobs(std::span<const float> logits, std::span<const int32_t> history,
                         const std::vector<LogitsProcessor>& processors,
                         std::vector<float>& logprobs) {
  const auto n = static_cast<int64_t>(logits.size());
  if (!processors.empty()) {
    logprobs.assign(logits.begin(), logits.end());
    for (const auto& p : processors) p(history, logprobs);
    logits = logprobs;
  }
  // Without processors the row is read straight from the logits: one pass fewer over the
  // vocabulary than copying it first.
  const float lse = kernels::logsumexp(logits.data(), n);
  logprobs.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) logprobs[i] = logits[i] - lse;
}

int32_t sample_next_token(std::span<const float> logits, std::span<const int32_t> history,
                          const std::vector<LogitsProcessor>& processors, Sampler& sampler,
                          std::vector<float>& logprobs) {
  normalized_logprobs(logits, history, processors, logprobs);
  return sampler.sample(logprobs);
}

}  // namespace mlxlm
