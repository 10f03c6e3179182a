// Continuing generation from a saved prompt cache (mlxlm cache-prompt + generate
// --prompt-cache-file, spec 1.3) gives what generating from the whole prompt gives; the dedicated
// prefill fills the cache like generation does; KV quantization options reach the cache.
#include <gtest/gtest.h>

#include <cmath>

#include "cache/prompt_cache_file.h"
#include "cache/quantized_kv_cache.h"
#include "greedy_run.h"
#include "io/json.h"
#include "mlxlm/generate.h"
#include "mlxlm/prefill.h"
#include "models/make_prompt_cache.h"
#include "models/registry.h"
#include "testing/goldens.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

using testing::Generated;

Generated run(const Model& model, std::span<const int32_t> prompt, PromptCache& cache,
              int max_tokens, GenerateStepOptions options = {}) {
  return testing::greedy_run(model, prompt, cache, max_tokens, options);
}

std::vector<std::vector<int32_t>> golden_prompts() {
  std::vector<std::vector<int32_t>> out;
  for (const Json& g : testing::tinystories_goldens()) {
    out.push_back(g["prompt_ids"].get<std::vector<int32_t>>());
  }
  return out;
}

class PromptCacheGenerate : public ::testing::Test {
 protected:
  void SetUp() override { model_ = load_model(testing::tinystories_dir()); }
  std::unique_ptr<Model> model_;
  testing::TempDir dir_;
};

TEST_F(PromptCacheGenerate, SavedPrefixContinuesLikeTheFullPrompt) {
  for (const auto& prompt : golden_prompts()) {
    for (size_t split : {size_t{1}, prompt.size() / 2, prompt.size() - 1}) {
      SCOPED_TRACE(split);
      PromptCache full_cache = make_prompt_cache(*model_);
      Generated full = run(*model_, prompt, full_cache, 24);

      PromptCache prefix_cache = make_prompt_cache(*model_);
      PrefillOptions po;
      po.prefill_step_size = 2;
      prefill(*model_, std::span(prompt).first(split), prefix_cache, po);
      const std::string file =
          save_prompt_cache(dir_.file("prefix"), prefix_cache, {}, model_->info().dtype);
      LoadedPromptCache loaded = load_prompt_cache(file);
      EXPECT_EQ(loaded.cache[0]->offset(), static_cast<int64_t>(split));
      Generated cont = run(*model_, std::span(prompt).subspan(split), loaded.cache, 24);
      EXPECT_EQ(cont.tokens, full.tokens);
      for (size_t i = 0; i < full.logprobs.size(); ++i) {
        for (size_t v = 0; v < full.logprobs[i].size(); v += 7) {
          ASSERT_NEAR(cont.logprobs[i][v], full.logprobs[i][v], 1e-4) << i << " " << v;
        }
      }
      EXPECT_EQ(loaded.cache[0]->offset(), static_cast<int64_t>(prompt.size()) + 24);
    }
  }
}

// mlx-lm test_cache_with_generate: four tokens in one call equal two plus one more call that
// reuses the cache.
TEST_F(PromptCacheGenerate, CacheWithGenerate) {
  const auto prompt = golden_prompts().front();
  PromptCache fresh = make_prompt_cache(*model_);
  Generated all = run(*model_, prompt, fresh, 4);
  PromptCache cache = make_prompt_cache(*model_);
  Generated first = run(*model_, prompt, cache, 2);
  ASSERT_EQ(first.tokens, std::vector<int32_t>(all.tokens.begin(), all.tokens.begin() + 2));
  const int32_t third = all.tokens[2];
  Generated more = run(*model_, std::span(&third, 1), cache, 1);
  EXPECT_EQ(more.tokens[0], all.tokens[3]);
  for (size_t v = 0; v < all.logprobs[3].size(); ++v) {
    ASSERT_NEAR(more.logprobs[0][v], all.logprobs[3][v], 1e-4);
  }
}

// mlx-lm test_trim_cache_with_generate: trimming the tokens of a continuation and running it
// again reproduces it.
TEST_F(PromptCacheGenerate, TrimCacheWithGenerate) {
  const auto prompt = golden_prompts().front();
  PromptCache cache = make_prompt_cache(*model_);
  const int32_t last = run(*model_, prompt, cache, 1).tokens[0];
  Generated a = run(*model_, std::span(&last, 1), cache, 2);
  EXPECT_EQ(trim_prompt_cache(cache, 3), 3);
  Generated b = run(*model_, std::span(&last, 1), cache, 2);
  EXPECT_EQ(a.tokens, b.tokens);
  for (size_t i = 0; i < a.logprobs.size(); ++i) {
    for (size_t v = 0; v < a.logprobs[i].size(); ++v) {
      ASSERT_NEAR(a.logprobs[i][v], b.logprobs[i][v], 1e-5);
    }
  }
}

TEST_F(PromptCacheGenerate, PrefillFillsTheCacheLikeGenerationWithNoTokens) {
  const auto prompt = golden_prompts().back();
  PromptCache by_prefill = make_prompt_cache(*model_);
  std::vector<std::pair<int64_t, int64_t>> calls;
  PrefillOptions po;
  po.prefill_step_size = 4;
  PrefillStats stats = prefill(*model_, prompt, by_prefill, po, [&](int64_t done, int64_t total) {
    calls.emplace_back(done, total);
  });
  EXPECT_EQ(stats.tokens, static_cast<int64_t>(prompt.size()));
  const auto n = static_cast<int64_t>(prompt.size());
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.front(), std::make_pair(int64_t{0}, n));
  EXPECT_EQ(calls.back(), std::make_pair(n, n));

  PromptCache by_generation = make_prompt_cache(*model_);
  run(*model_, prompt, by_generation, 0);
  for (size_t l = 0; l < by_prefill.size(); ++l) {
    EXPECT_EQ(by_prefill[l]->offset(), n);
    EXPECT_EQ(by_generation[l]->offset(), n);
    StateTree a = by_prefill[l]->state(), b = by_generation[l]->state();
    for (size_t part = 0; part < 2; ++part) {
      const Tensor& x = a.items[part].leaf;
      const Tensor& y = b.items[part].leaf;
      ASSERT_EQ(x.shape(), y.shape());
      for (int64_t i = 0; i < x.numel(); ++i) {
        ASSERT_NEAR(x.data<float>()[i], y.data<float>()[i], 1e-4);
      }
    }
  }
}

TEST_F(PromptCacheGenerate, KvBitsQuantizeOnceTheStartIsReached) {
  const auto prompt = golden_prompts().front();
  GenerateStepOptions o;
  o.kv_bits = 8;
  o.kv_group_size = 16;
  o.quantized_kv_start = 9;
  PromptCache cache = make_prompt_cache(*model_);
  Sampler greedy;
  o.max_tokens = 8;
  TokenGenerator gen(*model_, prompt, cache, greedy, {}, o);
  gen.next();  // 6 prompt tokens in the cache: below the start
  EXPECT_EQ(cache[0]->class_name(), "KVCache");
  while (gen.next()) {
  }
  gen.commit();
  for (const auto& c : cache) {
    const auto* q = dynamic_cast<const QuantizedKVCache*>(c.get());
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->bits(), 8);
    EXPECT_EQ(q->group_size(), 16);
  }
  EXPECT_EQ(cache[0]->offset(), static_cast<int64_t>(prompt.size()) + 8);
}

TEST_F(PromptCacheGenerate, MaxKvSizeBoundsTheGeneratorsOwnCache) {
  const auto prompt = golden_prompts().front();
  GenerationOptions o;
  o.step.max_tokens = 30;
  o.step.max_kv_size = 16;
  o.sampler.temp = 0;
  // A bounded cache keeps generating past its bound.
  PromptCache cache = make_prompt_cache(*model_, 16);
  Generated r = run(*model_, prompt, cache, 30, o.step);
  EXPECT_EQ(r.tokens.size(), 30u);
  EXPECT_EQ(cache[0]->class_name(), "RotatingKVCache");
  EXPECT_EQ(cache[0]->size(), 16);
  EXPECT_EQ(cache[0]->offset(), static_cast<int64_t>(prompt.size()) + 30);
}

}  // namespace
}  // namespace mlxlm
