// The language-neutral cases of mlx-lm's test_sample_utils.py (spec 10.3) with their expected
// probability vectors, plus seed reproducibility across threads.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "base/error.h"
#include "sampling/filters.h"
#include "sampling/logits_processors.h"
#include "sampling/sampler.h"

namespace mlxlm {
namespace {

std::vector<float> logs(std::vector<float> probs) {
  for (float& p : probs) p = std::log(p);
  return probs;
}

// Renormalised probabilities of a filtered logprob row.
std::vector<float> probs(const std::vector<float>& lp) {
  double sum = 0;
  for (float v : lp) sum += std::exp(double{v});
  std::vector<float> out;
  for (float v : lp) out.push_back(static_cast<float>(std::exp(double{v}) / sum));
  return out;
}

void expect_probs(const std::vector<float>& lp, const std::vector<float>& expected) {
  auto p = probs(lp);
  ASSERT_EQ(p.size(), expected.size());
  for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(p[i], expected[i], 1e-4) << "index " << i;
}

TEST(TopP, KeepsTheHeadOfTheDistribution) {
  auto lp = logs({0.9f, 0.0f, 0.0f, 0.1f});
  apply_top_p(lp, 0.3f);
  expect_probs(lp, {1.0f, 0.0f, 0.0f, 0.0f});

  lp = logs({0.9f, 0.0f, 0.0f, 0.1f});
  apply_top_p(lp, 0.95f);
  expect_probs(lp, {0.9f, 0.0f, 0.0f, 0.1f});

  lp = logs({0.0f, 0.5f, 0.4f, 0.1f});
  apply_top_p(lp, 0.6f);
  expect_probs(lp, {0.0f, 0.5f / 0.9f, 0.4f / 0.9f, 0.0f});

  lp = logs({0.0f, 0.5f, 0.4f, 0.1f});
  apply_top_p(lp, 0.95f);
  expect_probs(lp, {0.0f, 0.5f, 0.4f, 0.1f});
}

TEST(MinP, RemovesTokensBelowAFractionOfTheBest) {
  auto lp = logs({0.9f, 0.0f, 0.0f, 0.1f});
  apply_min_p(lp, 0.8f, 1);
  expect_probs(lp, {1.0f, 0.0f, 0.0f, 0.0f});

  lp = logs({0.9f, 0.0f, 0.0f, 0.1f});
  apply_min_p(lp, 0.05f, 1);
  expect_probs(lp, {0.9f, 0.0f, 0.0f, 0.1f});

  // Batched rows of the mlx test, one at a time: min_p 0.7.
  lp = logs({0.9f, 0.0f, 0.0f, 0.1f});
  apply_min_p(lp, 0.7f, 1);
  expect_probs(lp, {1.0f, 0.0f, 0.0f, 0.0f});
  lp = logs({0.0f, 0.8f, 0.0f, 0.2f});
  apply_min_p(lp, 0.7f, 1);
  expect_probs(lp, {0.0f, 1.0f, 0.0f, 0.0f});

  // min_tokens_to_keep protects the runner-up.
  lp = logs({0.9f, 0.0f, 0.0f, 0.1f});
  apply_min_p(lp, 0.8f, 2);
  expect_probs(lp, {0.9f, 0.0f, 0.0f, 0.1f});
}

TEST(TopK, KeepsTheKMostLikely) {
  auto lp = logs({0.5f, 0.0f, 0.0f, 0.5f});
  apply_top_k(lp, 1);
  auto p = probs(lp);
  EXPECT_NEAR(p[0] + p[3], 1.0f, 1e-6);  // a tie: either one survives, alone
  EXPECT_TRUE(p[0] == 0.0f || p[3] == 0.0f);

  lp = logs({0.6f, 0.0f, 0.1f, 0.3f});
  apply_top_k(lp, 2);
  expect_probs(lp, {0.6667f, 0.0f, 0.0f, 0.3333f});

  lp = logs({0.6f, 0.0f, 0.1f, 0.3f});
  EXPECT_THROW(apply_top_k(lp, 4), InvalidInput);
}

TEST(Xtc, RemovesTopChoicesAboveThreshold) {
  auto lp = logs({0.4f, 0.3f, 0.15f, 0.15f});
  apply_xtc(lp, 0.2f, {});
  expect_probs(lp, {0.0f, 0.5f, 0.25f, 0.25f});

  lp = logs({0.4f, 0.3f, 0.15f, 0.15f});
  apply_xtc(lp, 0.1f, {});
  expect_probs(lp, {0.0f, 0.0f, 0.5f, 0.5f});

  lp = logs({0.4f, 0.3f, 0.15f, 0.15f});
  const std::vector<int32_t> special = {0};
  apply_xtc(lp, 0.1f, special);
  expect_probs(lp, {4.0f / 7, 0.0f, 1.5f / 7, 1.5f / 7});
}

TEST(Xtc, ZeroProbabilityNeverApplies) {
  SamplerOptions o;
  o.temp = 1.0f;
  o.xtc_probability = 0.0f;
  o.xtc_threshold = 0.1f;
  o.seed = 3;
  Sampler s(o);
  // Token 0 holds almost all mass; XTC would remove it if it ever ran.
  auto lp = logs({0.999f, 0.0005f, 0.0005f});
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(lp), 0);
}

TEST(Penalties, PresenceSubtractsOncePerDistinctToken) {
  LogitsProcessorOptions o;
  o.presence_penalty = 0.5f;
  auto procs = make_logits_processors(o);
  ASSERT_EQ(procs.size(), 1u);
  std::vector<float> logits = {0.0f, 0.0f, 0.0f, 0.0f};
  const std::vector<int32_t> tokens = {1, 1, 3};
  procs[0](tokens, logits);
  EXPECT_EQ(logits, (std::vector<float>{0.0f, -0.5f, 0.0f, -0.5f}));
}

TEST(Penalties, FrequencySubtractsPerOccurrence) {
  LogitsProcessorOptions o;
  o.frequency_penalty = 0.5f;
  auto procs = make_logits_processors(o);
  std::vector<float> logits = {0.0f, 0.0f, 0.0f, 0.0f};
  const std::vector<int32_t> tokens = {1, 1, 3};
  procs[0](tokens, logits);
  EXPECT_EQ(logits, (std::vector<float>{0.0f, -1.0f, 0.0f, -0.5f}));
}

TEST(Penalties, CombinedInMlxOrder) {
  LogitsProcessorOptions o;
  o.repetition_penalty = 1.5f;
  o.presence_penalty = 0.5f;
  o.frequency_penalty = 0.25f;
  auto procs = make_logits_processors(o);
  ASSERT_EQ(procs.size(), 3u);
  std::vector<float> logits = {1.0f, 0.5f, 0.0f, -0.5f};
  const std::vector<int32_t> tokens = {0, 0, 0, 1, 1};
  for (auto& p : procs) p(tokens, logits);
  const std::vector<float> expected = {-0.5833f, -0.6667f, 0.0f, -0.5f};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(logits[i], expected[i], 1e-4);
}

TEST(Penalties, ContextWindowLimitsHistory) {
  LogitsProcessorOptions o;
  o.presence_penalty = 1.0f;
  o.presence_context_size = 2;
  auto procs = make_logits_processors(o);
  std::vector<float> logits = {0.0f, 0.0f, 0.0f};
  const std::vector<int32_t> tokens = {0, 1, 2};
  procs[0](tokens, logits);
  EXPECT_EQ(logits, (std::vector<float>{0.0f, -1.0f, -1.0f}));
}

TEST(LogitBias, AddsToChosenTokens) {
  LogitsProcessorOptions o;
  o.logit_bias = {{0, 2000.0f}, {1, -20.0f}};
  auto procs = make_logits_processors(o);
  std::vector<float> logits = {0.0f, 0.0f, 1.0f};
  procs[0]({}, logits);
  EXPECT_EQ(logits, (std::vector<float>{2000.0f, -20.0f, 1.0f}));
}

TEST(Sampler, GreedyIgnoresFilters) {
  SamplerOptions o;
  o.temp = 0.0f;
  o.top_k = 1;
  o.min_p = 0.99f;
  Sampler s(o);
  EXPECT_EQ(s.sample(logs({0.1f, 0.2f, 0.7f})), 2);
}

TEST(Sampler, SameSeedSameTokensOnAnotherThread) {
  auto lp = logs({0.25f, 0.25f, 0.25f, 0.25f});
  SamplerOptions o;
  o.temp = 1.0f;
  o.seed = 42;
  auto draw = [&] {
    Sampler s(o);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.sample(lp));
    return out;
  };
  std::vector<int32_t> here = draw();
  std::vector<int32_t> there;
  std::thread t([&] { there = draw(); });
  t.join();
  EXPECT_EQ(here, there);
  // And the draws are not all the same token (the sampler really samples).
  EXPECT_NE(std::count(here.begin(), here.end(), here[0]), 64);
}

TEST(Sampler, FrequenciesFollowTheDistribution) {
  auto lp = logs({0.7f, 0.2f, 0.1f});
  SamplerOptions o;
  o.temp = 1.0f;
  o.seed = 7;
  Sampler s(o);
  std::vector<int> counts(3, 0);
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[s.sample(lp)];
  EXPECT_NEAR(counts[0] / double{n}, 0.7, 0.02);
  EXPECT_NEAR(counts[1] / double{n}, 0.2, 0.02);
  EXPECT_NEAR(counts[2] / double{n}, 0.1, 0.02);
}

TEST(Sampler, RejectsBadOptions) {
  SamplerOptions o;
  o.top_p = 1.5f;
  EXPECT_THROW(Sampler{o}, InvalidInput);
  o = {};
  o.xtc_threshold = 0.7f;
  EXPECT_THROW(Sampler{o}, InvalidInput);
  o = {};
  o.min_tokens_to_keep = 0;
  EXPECT_THROW(Sampler{o}, InvalidInput);
}

// A top_k must leave the vocabulary something to remove (apply_top_k refuses it otherwise); the
// check says so before any prompt is processed. Greedy sampling applies no filter.
TEST(Sampler, TopKMustBeSmallerThanTheVocabulary) {
  EXPECT_NO_THROW(check_sampler_vocabulary({.temp = 1.0f, .top_k = 95}, 96));
  EXPECT_THROW(check_sampler_vocabulary({.temp = 1.0f, .top_k = 96}, 96), InvalidInput);
  EXPECT_NO_THROW(check_sampler_vocabulary({.temp = 0.0f, .top_k = 96}, 96));
  std::vector<float> lp(96, -std::log(96.0f));
  EXPECT_THROW(apply_top_k(lp, 96), InvalidInput) << "the filter the check stands in for";
}

}  // namespace
}  // namespace mlxlm
