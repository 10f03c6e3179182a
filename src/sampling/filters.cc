#include "sampling/filters.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "base/error.h"

namespace mlxlm {
namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::vector<int32_t> order_by_logprob(std::span<const float> lp, bool descending) {
  std::vector<int32_t> idx(lp.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) {
    return descending ? lp[a] > lp[b] : lp[a] < lp[b];
  });
  return idx;
}
}  // namespace

void apply_top_p(std::span<float> lp, float top_p) {
  if (!(top_p > 0.0f && top_p < 1.0f)) return;
  auto asc = order_by_logprob(lp, /*descending=*/false);
  std::vector<float> probs(lp.size());
  for (size_t i = 0; i < lp.size(); ++i) probs[i] = std::exp(lp[i]);
  float cumulative = 0.0f;
  const float cut = 1.0f - top_p;
  for (int32_t id : asc) {
    cumulative += probs[id];
    if (!(cumulative > cut)) lp[id] = kNegInf;
  }
}

void apply_min_p(std::span<float> lp, float min_p, int min_tokens_to_keep) {
  if (!(min_p >= 0.0f && min_p <= 1.0f)) {
    throw InvalidInput("sampling", "min_p must be in [0, 1], got " + std::to_string(min_p));
  }
  if (min_tokens_to_keep < 1) {
    throw InvalidInput("sampling", "min_tokens_to_keep must be at least 1");
  }
  if (min_p == 0.0f || lp.empty()) return;
  auto desc = order_by_logprob(lp, /*descending=*/true);
  const float threshold = lp[desc[0]] + std::log(min_p);
  for (size_t rank = static_cast<size_t>(min_tokens_to_keep); rank < desc.size(); ++rank) {
    if (lp[desc[rank]] < threshold) lp[desc[rank]] = kNegInf;
  }
}

void check_top_k(int k, int64_t vocab) {
  if (k > 0 && k >= vocab) {
    throw InvalidInput("sampling", "top_k must be less than the vocabulary size (" +
                                       std::to_string(vocab) + "), got " + std::to_string(k));
  }
}

void apply_top_k(std::span<float> lp, int k) {
  if (k <= 0) return;
  check_top_k(k, static_cast<int64_t>(lp.size()));
  auto desc = order_by_logprob(lp, /*descending=*/true);
  for (size_t rank = static_cast<size_t>(k); rank < desc.size(); ++rank) lp[desc[rank]] = kNegInf;
}

void apply_xtc(std::span<float> lp, float threshold, std::span<const int32_t> special_tokens) {
  if (!(threshold >= 0.0f && threshold <= 0.5f)) {
    throw InvalidInput("sampling",
                       "xtc_threshold must be in [0, 0.5], got " + std::to_string(threshold));
  }
  // Probabilities of the row (logprobs may be unnormalised after earlier filters).
  float mx = kNegInf;
  for (float v : lp) mx = std::max(mx, v);
  if (mx == kNegInf) return;
  double sum = 0;
  for (float v : lp) sum += std::exp(double{v} - mx);
  std::vector<float> probs(lp.size());
  for (size_t i = 0; i < lp.size(); ++i)
    probs[i] = static_cast<float>(std::exp(double{lp[i]} - mx) / sum);

  float least_above = std::numeric_limits<float>::infinity();
  for (float p : probs) {
    if (p > threshold) least_above = std::min(least_above, p);
  }
  std::vector<bool> keep_special(lp.size(), false);
  for (int32_t id : special_tokens) {
    if (id >= 0 && static_cast<size_t>(id) < lp.size()) keep_special[id] = true;
  }
  for (size_t i = 0; i < lp.size(); ++i) {
    if (probs[i] > least_above && !keep_special[i]) lp[i] = kNegInf;
  }
}

}  // namespace mlxlm
