#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "kernels/ops.h"
#include "sampling/filters.h"

namespace mlxlm {

int32_t argmax(std::span<const float> values) {
  return static_cast<int32_t>(kernels::argmax(values.data(), static_cast<int64_t>(values.size())));
}

Sampler::Sampler(SamplerOptions options)
    : options_(std::move(options)),
      rng_(options_.seed ? Rng(*options_.seed) : Rng::from_entropy()) {
  const auto& o = options_;
  if (!(o.temp >= 0.0f)) throw InvalidInput("sampling", "temperature must be >= 0");
  if (!(o.top_p >= 0.0f && o.top_p <= 1.0f))
    throw InvalidInput("sampling", "top_p must be in [0, 1]");
  if (!(o.min_p >= 0.0f && o.min_p <= 1.0f))
    throw InvalidInput("sampling", "min_p must be in [0, 1]");
  if (o.min_tokens_to_keep < 1) throw InvalidInput("sampling", "min_tokens_to_keep must be >= 1");
  if (o.top_k < 0) throw InvalidInput("sampling", "top_k must be >= 0");
  if (!(o.xtc_probability >= 0.0f && o.xtc_probability <= 1.0f)) {
    throw InvalidInput("sampling", "xtc_probability must be in [0, 1]");
  }
  if (!(o.xtc_threshold >= 0.0f && o.xtc_threshold <= 0.5f)) {
    throw InvalidInput("sampling", "xtc_threshold must be in [0, 0.5]");
  }
}

void check_sampler_vocabulary(const SamplerOptions& options, int64_t vocab) {
  if (options.temp != 0.0f) check_top_k(options.top_k, vocab);
}

int32_t Sampler::sample(std::span<const float> logprobs) {
  const auto& o = options_;
  if (o.temp == 0.0f) return argmax(logprobs);

  scratch_.assign(logprobs.begin(), logprobs.end());
  std::span<float> lp(scratch_);
  if (o.top_p > 0.0f && o.top_p < 1.0f) apply_top_p(lp, o.top_p);
  if (o.min_p != 0.0f) apply_min_p(lp, o.min_p, o.min_tokens_to_keep);
  if (o.xtc_probability > 0.0f && rng_.uniform() < o.xtc_probability) {
    apply_xtc(lp, o.xtc_threshold, o.xtc_special_tokens);
  }
  if (o.top_k > 0) apply_top_k(lp, o.top_k);

  // Categorical draw from softmax(lp / temp), in double for a stable cumulative sum.
  const double inv_temp = 1.0 / o.temp;
  double mx = -std::numeric_limits<double>::infinity();
  for (float v : lp) mx = std::max(mx, double{v} * inv_temp);
  double total = 0;
  for (float v : lp) total += std::exp(double{v} * inv_temp - mx);
  double target = rng_.uniform() * total;
  double cumulative = 0;
  int32_t last_finite = 0;
  for (size_t i = 0; i < lp.size(); ++i) {
    if (lp[i] == -std::numeric_limits<float>::infinity()) continue;
    last_finite = static_cast<int32_t>(i);
    cumulative += std::exp(double{lp[i]} * inv_temp - mx);
    if (cumulative > target) return static_cast<int32_t>(i);
  }
  return last_finite;
}

}  // namespace mlxlm
