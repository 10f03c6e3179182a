#pragma once
// make_sampler of mlx-lm (spec 5.1): temperature 0 is argmax and ignores every filter; otherwise
// top-p -> min-p -> XTC -> top-k on the untempered log-probabilities, then a categorical draw
// at the temperature.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "sampling/rng.h"

namespace mlxlm {

struct SamplerOptions {
  float temp = 0.0f;             // 0 = greedy
  float top_p = 1.0f;            // 1 = off
  float min_p = 0.0f;            // 0 = off
  int min_tokens_to_keep = 1;    // for min-p
  int top_k = 0;                 // 0 = off
  float xtc_probability = 0.0f;  // 0 = off
  float xtc_threshold = 0.1f;
  std::vector<int32_t> xtc_special_tokens;  // never removed by XTC (newline and EOS ids)
  std::optional<uint64_t> seed;             // none = seeded from entropy
};

class Sampler {
 public:
  // Validates the options; throws InvalidInput naming a bad one.
  explicit Sampler(SamplerOptions options = {});

  // Draws a token from one row of normalised log-probabilities. Not thread-safe (owns an RNG);
  // use one Sampler per sequence.
  int32_t sample(std::span<const float> logprobs);
  const SamplerOptions& options() const { return options_; }

 private:
  SamplerOptions options_;
  Rng rng_;
  std::vector<float> scratch_;
};

int32_t argmax(std::span<const float> values);

// Throws InvalidInput when `options` cannot sample from a vocabulary of `vocab` tokens (a top_k
// it cannot hold): checked before a prompt is processed, instead of at the first draw after it.
// Temperature 0 applies no filter, so any top_k passes there.
void check_sampler_vocabulary(const SamplerOptions& options, int64_t vocab);

}  // namespace mlxlm
