#pragma once
// The sampling filters of mlx-lm's sample_utils (spec 5.1). Each takes one row of normalised
// log-probabilities and sets the entries it removes to -inf; kept entries are unchanged.
#include <cstdint>
#include <span>

namespace mlxlm {

// Keeps the smallest set of most likely tokens whose mass exceeds 1 - (1 - top_p):
// in ascending order, a token is kept when the cumulative probability up to and including it
// exceeds 1 - top_p.
void apply_top_p(std::span<float> logprobs, float top_p);
// Removes tokens with p < min_p * p_max; the `min_tokens_to_keep` most likely always stay.
void apply_min_p(std::span<float> logprobs, float min_p, int min_tokens_to_keep);
// Keeps the k most likely tokens.
void apply_top_k(std::span<float> logprobs, int k);
// Throws InvalidInput unless top-k with k > 0 has something to remove from `vocab` tokens.
void check_top_k(int k, int64_t vocab);
// Exclude Top Choices: removes every token more likely than the least likely token above
// `threshold`, except `special_tokens`. The caller decides (with probability p) whether to apply.
void apply_xtc(std::span<float> logprobs, float threshold, std::span<const int32_t> special_tokens);

}  // namespace mlxlm
