// Speculative decoding on the sample model with its own 4-bit conversion as the draft (issue 7):
// greedy output must equal greedy output without a draft, token for token, and the float64
// goldens over their safe prefix.
#include <gtest/gtest.h>

#include <cstdio>

#include "base/error.h"
#include "io/json.h"
#include "mlxlm/speculative.h"
#include "models/convert.h"
#include "models/registry.h"
#include "testing/goldens.h"
#include "testing/shared_data.h"
#include "tokenizer/tokenizer.h"

namespace mlxlm {
namespace {

std::vector<int32_t> plain_greedy(const Model& model, const std::vector<int32_t>& prompt, int n) {
  PromptCache cache = model.make_cache();
  Sampler greedy;
  GenerateStepOptions o;
  o.max_tokens = n;
  TokenGenerator gen(model, prompt, cache, greedy, {}, o);
  std::vector<int32_t> out;
  while (auto s = gen.next()) out.push_back(s->token);
  return out;
}

TEST(SpeculativeTinyStories, FourBitDraftKeepsGreedyOutput) {
  testing::TempDir dir;
  ConvertOptions c;
  c.hf_path = testing::tinystories_dir();
  c.mlx_path = dir.file("draft-4bit");
  c.quantize = true;
  c.q_bits = 4;
  c.q_group_size = 64;
  convert_model(c);
  auto target = load_model(testing::tinystories_dir());
  auto draft = load_model(c.mlx_path);
  const int n = 64;
  int64_t drafted = 0, accepted = 0;
  for (const Json& g : testing::tinystories_goldens()) {
    const auto prompt = g["prompt_ids"].get<std::vector<int32_t>>();
    const auto golden = g["greedy_ids_64_ignoring_eos"].get<std::vector<int32_t>>();
    const auto safe = g["safe_prefix_len"].get<size_t>();
    const auto plain = plain_greedy(*target, prompt, n);
    for (int k : {2, 3, 5}) {
      SCOPED_TRACE(g["prompt"].get<std::string>() + ", num_draft_tokens " + std::to_string(k));
      PromptCache tc = target->make_cache();
      PromptCache dc = draft->make_cache();
      Sampler greedy;
      SpeculativeOptions o;
      o.max_tokens = n;
      o.num_draft_tokens = k;
      SpeculativeTokenGenerator gen(*target, *draft, prompt, tc, dc, greedy, {}, o);
      std::vector<int32_t> tokens;
      while (auto s = gen.next()) tokens.push_back(s->token);
      EXPECT_EQ(tokens, plain);
      ASSERT_GE(tokens.size(), safe);
      EXPECT_TRUE(
          std::equal(golden.begin(), golden.begin() + static_cast<int64_t>(safe), tokens.begin()));
      drafted += gen.drafted();
      accepted += gen.accepted();
    }
  }
  ASSERT_GT(drafted, 0);
  // Reported, not asserted beyond "the draft helps": a 4-bit copy agrees with its target often.
  const double rate = static_cast<double>(accepted) / static_cast<double>(drafted);
  std::printf("4-bit draft acceptance rate: %.3f (%lld of %lld)\n", rate,
              static_cast<long long>(accepted), static_cast<long long>(drafted));
  EXPECT_GT(rate, 0.4);
}

// After stream_generate with a draft, the caller's cache holds the prompt and exactly the tokens
// it returned, wherever the run stopped (the caller, mid-round or not, or max_tokens), as after
// plain generation: the same length, and the same next-token log-probabilities. Before
// commit(), a stop mid-round left the round's unreturned drafts in it, or lacked the last token.
TEST(SpeculativeTinyStories, CallerCacheHoldsWhatWasReturned) {
  auto model = load_model(testing::tinystories_dir());
  auto tokenizer = Tokenizer::load(testing::tinystories_dir());
  const std::vector<int32_t> prompt{1, 80, 147, 201, 282, 57};
  auto run = [&](const Model* draft, int k, int stop_after, PromptCache& cache) {
    GenerationOptions o;
    o.draft_model = draft;
    o.num_draft_tokens = k;
    o.step.max_tokens = 7;
    int calls = 0;
    stream_generate(*model, *tokenizer, prompt, o, &cache,
                    [&](const GenerationResponse&) { return ++calls < stop_after; });
  };
  auto next_logits = [&](PromptCache& cache) {
    Tensor t = model->forward(std::vector<int32_t>{42}, 1, cache, true);
    return std::vector<float>(t.data<float>(), t.data<float>() + model->info().vocab_size);
  };
  for (int k : {2, 3}) {
    for (int stop_after : {1, 2, 3, 4, 100}) {
      SCOPED_TRACE("k " + std::to_string(k) + ", stop after " + std::to_string(stop_after));
      PromptCache plain = model->make_cache(), speculative = model->make_cache();
      run(nullptr, k, stop_after, plain);
      run(model.get(), k, stop_after, speculative);
      ASSERT_EQ(speculative[0]->offset(), plain[0]->offset());
      const auto want = next_logits(plain), have = next_logits(speculative);
      for (size_t v = 0; v < want.size(); ++v) ASSERT_NEAR(have[v], want[v], 1e-4f) << v;
    }
  }
}

// A caller's cache in mlx-lm's layout (the target's layers, then the draft's) keeps the draft's
// history across calls: a second turn with a draft equal to the target accepts every draft,
// and both turns give plain generation's tokens. Other layer counts are refused.
TEST(SpeculativeTinyStories, DraftLayersAfterTheTargetsKeepTheConversation) {
  auto model = load_model(testing::tinystories_dir());
  auto tokenizer = Tokenizer::load(testing::tinystories_dir());
  const std::vector<std::vector<int32_t>> turns = {{1, 80, 147, 201, 282, 57}, {80, 1132}};
  auto turn = [&](const Model* draft, const std::vector<int32_t>& prompt, PromptCache& cache) {
    GenerationOptions o;
    o.draft_model = draft;
    o.num_draft_tokens = 3;
    o.step.max_tokens = 8;
    std::vector<int32_t> tokens;
    GenerationResponse last;
    stream_generate(*model, *tokenizer, prompt, o, &cache, [&](const GenerationResponse& r) {
      tokens.push_back(r.token);
      last = r;
      return true;
    });
    return std::make_pair(tokens, last);
  };
  PromptCache plain = model->make_cache();
  PromptCache both = model->make_cache();
  for (auto& layer : model->make_cache()) both.push_back(std::move(layer));
  const size_t layers = plain.size();
  for (size_t t = 0; t < turns.size(); ++t) {
    SCOPED_TRACE("turn " + std::to_string(t));
    auto [want, unused] = turn(nullptr, turns[t], plain);
    auto [have, stats] = turn(model.get(), turns[t], both);
    EXPECT_EQ(have, want);
    ASSERT_EQ(both.size(), 2 * layers) << "the draft's layers are given back";
    EXPECT_EQ(both[0]->offset(), plain[0]->offset());
    EXPECT_EQ(both[layers]->offset(), plain[0]->offset()) << "the draft holds the turns too";
    ASSERT_GT(stats.draft_tokens, 0);
    EXPECT_EQ(stats.accepted_draft_tokens, stats.draft_tokens);
  }
  PromptCache odd = model->make_cache();
  odd.pop_back();
  EXPECT_THROW(turn(model.get(), turns[0], odd), InvalidInput);
}

// stream_generate with a draft refuses max_kv_size (mlx-lm drops it silently): its rotating
// caches could not rewind the rejected drafts once full.
TEST(SpeculativeTinyStories, StreamGenerateRefusesMaxKvSizeWithADraft) {
  auto model = load_model(testing::tinystories_dir());
  auto tokenizer = Tokenizer::load(testing::tinystories_dir());
  GenerationOptions o;
  o.draft_model = model.get();
  o.step.max_kv_size = 8;
  const std::vector<int32_t> prompt{1, 2, 3};
  int calls = 0;
  try {
    stream_generate(*model, *tokenizer, prompt, o, nullptr,
                    [&](const GenerationResponse&) { return ++calls > 0; });
    FAIL() << "max_kv_size with a draft model was accepted";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("max_kv_size"), std::string::npos) << e.what();
  }
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace mlxlm
