#include "sampling/next_token.h"

#include <cmath>
#include <limits>
#include <ranges>

#include "base/error.h"
#include "kernels/ops.h"

namespace mlxlm {
namespace {

// A row whose log-sum-exp is -inf or NaN normalises to NaN everywhere, and the sampler would draw
// an arbitrary token from it: an error instead.
void check_normalizer(float lse, const char* what) {
  if (std::isnan(lse) || lse == -std::numeric_limits<float>::infinity()) {
    throw InvalidInput("sampling", what);
  }
}

}  // namespace

void normalized_logprobs(std::span<const float> logits, std::span<const int32_t> history,
                         const std::vector<LogitsProcessor>& processors,
                         std::vector<float>& logprobs) {
  const auto n = static_cast<int64_t>(logits.size());
  if (!processors.empty()) {
    logprobs.assign(logits.begin(), logits.end());
    for (const auto& p : processors) p(history, logprobs);
    const float lse = kernels::logsumexp(logprobs.data(), n);
    check_normalizer(lse,
                     "the logits processors left no token to sample (every logit -inf) or a NaN");
    for (float& v : logprobs) v -= lse;
    return;
  }
  // Without processors the row is read straight from the logits, and written once: no copy
  // first, and no zero fill of the (moved-from, empty) row before it is overwritten.
  const float lse = kernels::logsumexp(logits.data(), n);
  check_normalizer(lse, "the model's logits hold a NaN, or every one is -inf");
  const auto shifted = logits | std::views::transform([lse](float v) { return v - lse; });
  logprobs.assign(shifted.begin(), shifted.end());
}

int32_t sample_next_token(std::span<const float> logits, std::span<const int32_t> history,
                          const std::vector<LogitsProcessor>& processors, Sampler& sampler,
                          std::vector<float>& logprobs) {
  normalized_logprobs(logits, history, processors, logprobs);
  return sampler.sample(logprobs);
}

}  // namespace mlxlm
