// generate_step semantics (spec 2.1) on a random tiny model: prefill chunking, processors'
// view of the history, max_tokens, and continuing from a cache.
#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "greedy_run.h"
#include "mlxlm/generate.h"
#include "models/registry.h"
#include "random_model.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

class TokenGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::RandomModelSpec spec;
    spec.vocab = 96;
    testing::write_random_model(dir_.path(), spec);
    model_ = load_model(dir_.path());
  }
  testing::TempDir dir_;
  std::unique_ptr<Model> model_;
  const std::vector<int32_t> prompt_ = {3, 14, 15, 92, 65, 35, 89, 79};
};

using testing::Generated;

Generated run(const Model& model, std::span<const int32_t> prompt, PromptCache& cache,
              int max_tokens, GenerateStepOptions options = {}) {
  return testing::greedy_run(model, prompt, cache, max_tokens, options);
}

TEST_F(TokenGeneratorTest, YieldsExactlyMaxTokensAndCachesThemAll) {
  PromptCache cache = model_->make_cache();
  Generated r = run(*model_, prompt_, cache, 4);
  EXPECT_EQ(r.tokens.size(), 4u);
  EXPECT_EQ(cache[0]->offset(), static_cast<int64_t>(prompt_.size()) + 4);
  // Logprobs are normalised.
  double mass = 0;
  for (float v : r.logprobs[0]) mass += std::exp(double{v});
  EXPECT_NEAR(mass, 1.0, 1e-4);
}

TEST_F(TokenGeneratorTest, PrefillChunkSizeDoesNotChangeResults) {
  PromptCache a = model_->make_cache();
  PromptCache b = model_->make_cache();
  GenerateStepOptions small;
  small.prefill_step_size = 3;
  Generated ra = run(*model_, prompt_, a, 6);
  Generated rb = run(*model_, prompt_, b, 6, small);
  EXPECT_EQ(ra.tokens, rb.tokens);
  for (size_t i = 0; i < ra.logprobs.size(); ++i) {
    for (size_t v = 0; v < ra.logprobs[i].size(); ++v) {
      ASSERT_NEAR(ra.logprobs[i][v], rb.logprobs[i][v], 1e-4);
    }
  }
}

TEST_F(TokenGeneratorTest, ProgressReportsChunksThenCompletion) {
  PromptCache cache = model_->make_cache();
  Sampler greedy;
  GenerateStepOptions o;
  o.max_tokens = 1;
  o.prefill_step_size = 3;
  std::vector<std::pair<int64_t, int64_t>> calls;
  TokenGenerator gen(*model_, prompt_, cache, greedy, {}, o,
                     [&](int64_t done, int64_t total) { calls.emplace_back(done, total); });
  while (gen.next()) {
  }
  // 8 prompt tokens: 7 prefilled in chunks of 3 (3, 6, 7), then the last one.
  std::vector<std::pair<int64_t, int64_t>> expected = {{0, 8}, {3, 8}, {6, 8}, {7, 8}, {8, 8}};
  EXPECT_EQ(calls, expected);
}

TEST_F(TokenGeneratorTest, ProcessorSeesPromptAndGeneratedTokens) {
  PromptCache cache = model_->make_cache();
  Sampler greedy;
  GenerateStepOptions o;
  o.max_tokens = 5;
  std::vector<size_t> seen;
  LogitsProcessor record = [&](std::span<const int32_t> tokens, std::span<float>) {
    seen.push_back(tokens.size());
  };
  TokenGenerator gen(*model_, prompt_, cache, greedy, {record}, o);
  while (gen.next()) {
  }
  // The call that picks token k sees the prompt and the k-1 tokens before it. (mlx-lm's
  // pipelining makes one extra, discarded call that sees prompt + 5; we do not compute it.)
  const size_t p = prompt_.size();
  EXPECT_EQ(seen, (std::vector<size_t>{p, p + 1, p + 2, p + 3, p + 4}));
}

TEST_F(TokenGeneratorTest, LogitBiasForcesToken) {
  PromptCache cache = model_->make_cache();
  Sampler greedy;
  LogitsProcessorOptions po;
  po.logit_bias = {{7, 2000.0f}};
  GenerateStepOptions o;
  o.max_tokens = 3;
  TokenGenerator gen(*model_, prompt_, cache, greedy, make_logits_processors(po), o);
  while (auto s = gen.next()) {
    EXPECT_EQ(s->token, 7);
    EXPECT_NEAR(s->logprobs[7], 0.0f, 1e-5);  // all mass on the biased token
  }
}

TEST_F(TokenGeneratorTest, ContinuingFromTheCacheMatchesOneLongRun) {
  // mlx-lm test_cache_with_generate: 4 tokens at once == 2 tokens, then feeding token 3 alone.
  PromptCache c1 = model_->make_cache();
  Generated all = run(*model_, prompt_, c1, 4);
  PromptCache c2 = model_->make_cache();
  Generated first = run(*model_, prompt_, c2, 2);
  EXPECT_EQ(first.tokens, std::vector<int32_t>(all.tokens.begin(), all.tokens.begin() + 2));
  const std::vector<int32_t> next = {all.tokens[2]};
  Generated cont = run(*model_, next, c2, 1);
  ASSERT_EQ(cont.tokens.size(), 1u);
  EXPECT_EQ(cont.tokens[0], all.tokens[3]);
  for (size_t v = 0; v < cont.logprobs[0].size(); ++v) {
    ASSERT_NEAR(cont.logprobs[0][v], all.logprobs[3][v], 1e-4);
  }
}

TEST_F(TokenGeneratorTest, MaxTokensZeroStillCachesThePrompt) {
  PromptCache cache = model_->make_cache();
  Generated r = run(*model_, prompt_, cache, 0);
  EXPECT_TRUE(r.tokens.empty());
  EXPECT_EQ(cache[0]->offset(), static_cast<int64_t>(prompt_.size()));
}

TEST_F(TokenGeneratorTest, EmptyPromptIsAnError) {
  PromptCache cache = model_->make_cache();
  Sampler greedy;
  EXPECT_THROW(TokenGenerator(*model_, {}, cache, greedy), InvalidInput);
}

}  // namespace
}  // namespace mlxlm
