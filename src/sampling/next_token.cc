#include "sampling/next_token.h"

#include "kernels/ops.h"

namespace mlxlm {

int32_t sample_next_token(std::span<const float> logits, std::span<const int32_t> history,
                          const std::vector<LogitsProcessor>& processors, Sampler& sampler,
                          std::vector<float>& logprobs) {
  logprobs.assign(logits.begin(), logits.end());
  for (const auto& p : processors) p(history, logprobs);
  const float lse = kernels::logsumexp(logprobs.data(), static_cast<int64_t>(logprobs.size()));
  for (float& v : logprobs) v -= lse;
  return sampler.sample(logprobs);
}

}  // namespace mlxlm
