#pragma once
// The step every generator shares between the model's logits and the next token: logits
// processors on the raw logits, log-softmax, then the sampler.
#include <cstdint>
#include <span>
#include <vector>

#include "sampling/logits_processors.h"
#include "sampling/sampler.h"

namespace mlxlm {

// Fills `logprobs` with the log-softmax of `logits` after `processors` (what the generators
// report). `history` is every token so far (prompt included).
void normalized_logprobs(std::span<const float> logits, std::span<const int32_t> history,
                         const std::vector<LogitsProcessor>& processors,
                         std::vector<float>& logprobs);

// Fills `logprobs` with the processed, normalised row (what the generators report) and draws
// the next token from it. `history` is every token so far (prompt included).
int32_t sample_next_token(std::span<const float> logits, std::span<const int32_t> history,
                          const std::vector<LogitsProcessor>& processors, Sampler& sampler,
                          std::vector<float>& logprobs);

}  // namespace mlxlm
