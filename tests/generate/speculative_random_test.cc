// Speculative decoding over random configurations: prompt lengths, token limits, draft lengths
// and prefill chunk sizes drawn from a seed, with the target's own 4-bit conversion as the draft
// (so that some drafts are accepted and some are not). Every run is held to plain greedy
// generation with the target: the same tokens and log-probabilities, `from_draft` on exactly the
// accepted drafts, and caches that hold the conversation, so that a second turn continues it as
// plain generation continues its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "greedy_run.h"
#include "mlxlm/prefill.h"
#include "mlxlm/speculative.h"
#include "models/convert.h"
#include "models/registry.h"
#include "random_model.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

using testing::Generated;

class SpeculativeRandomTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::RandomModelSpec spec;
    spec.vocab = 96;
    testing::write_random_model(target_dir_.path(), spec);
    ConvertOptions c;
    c.hf_path = target_dir_.path();
    c.mlx_path = dir_.file("draft");
    c.quantize = true;
    c.q_bits = 4;
    c.q_group_size = 32;
    convert_model(c);
    target_ = load_model(c.hf_path);
    draft_ = load_model(c.mlx_path);
  }

  // Greedy speculative decoding; `from_draft`: how many tokens said so, `accepted`: how many
  // drafts the generator counted as accepted.
  Generated speculative(std::span<const int32_t> prompt, PromptCache& tc, PromptCache& dc,
                        const SpeculativeOptions& o, int64_t& from_draft, int64_t& accepted) {
    Sampler greedy;
    SpeculativeTokenGenerator gen(*target_, *draft_, prompt, tc, dc, greedy, {}, o);
    Generated r;
    from_draft = 0;
    while (auto s = gen.next()) {
      r.tokens.push_back(s->token);
      r.logprobs.emplace_back(s->logprobs.begin(), s->logprobs.end());
      from_draft += s->from_draft;
    }
    gen.commit();
    accepted = gen.accepted();
    return r;
  }

  // The keys and values of the first `layers` layers of `cache` are those of `model` fed
  // `history` afresh: every rewind took back exactly the rejected tokens, on the draft's side as
  // well (which the output alone cannot show: a stale draft key only makes drafts worse). The
  // first layer's depend on each token and its position alone, so a stale or missing token shows
  // there. A quantized model's deeper layers are left out: its activations are quantized in
  // differently shaped passes (one token, or a whole prompt), and a value at a rounding boundary
  // may round either way and move a deeper key by more than any fixed tolerance.
  static void expect_holds(const Model& model, const PromptCache& cache,
                           std::span<const int32_t> history, size_t layers) {
    PromptCache fresh = model.make_cache();
    prefill(model, history, fresh, PrefillOptions{});
    ASSERT_EQ(cache.size(), fresh.size());
    for (size_t l = 0; l < std::min(layers, cache.size()); ++l) {
      const StateTree got = cache[l]->state(), want = fresh[l]->state();
      ASSERT_EQ(got.items.size(), want.items.size());
      for (size_t i = 0; i < got.items.size(); ++i) {
        const Tensor a = to_f32(got.items[i].leaf.view()), b = to_f32(want.items[i].leaf.view());
        ASSERT_EQ(a.numel(), b.numel()) << "layer " << l;
        for (int64_t j = 0; j < a.numel(); ++j) {
          ASSERT_NEAR(a.data<float>()[j], b.data<float>()[j], 1e-4f) << "layer " << l << ", " << j;
        }
      }
    }
  }

  static void expect_same(const Generated& got, const Generated& want) {
    ASSERT_EQ(got.tokens, want.tokens);
    for (size_t t = 0; t < got.tokens.size(); ++t) {
      ASSERT_EQ(got.logprobs[t].size(), want.logprobs[t].size());
      for (size_t v = 0; v < got.logprobs[t].size(); ++v) {
        ASSERT_NEAR(got.logprobs[t][v], want.logprobs[t][v], 1e-4f)
            << "token " << t << ", index " << v;
      }
    }
  }

  testing::TempDir target_dir_, dir_;
  std::unique_ptr<Model> target_, draft_;
};

TEST_F(SpeculativeRandomTest, RandomConfigurationsKeepPlainGreedyOutputOverTwoTurns) {
  int64_t accepted_in_all = 0, produced_in_all = 0;
  for (uint32_t seed = 1; seed <= 16; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    SpeculativeOptions o;
    o.num_draft_tokens = pick(1, 6);
    o.prefill_step_size = pick(1, 8);
    PromptCache tc = target_->make_cache(), dc = draft_->make_cache(), pc = target_->make_cache();
    std::vector<int32_t> history;
    for (int turn = 0; turn < 2; ++turn) {
      std::vector<int32_t> prompt(pick(1, 12));
      for (auto& t : prompt) t = pick(1, 95);
      o.max_tokens = pick(1, 20);
      SCOPED_TRACE(::testing::Message()
                   << "seed " << seed << ", turn " << turn << ": num_draft_tokens "
                   << o.num_draft_tokens << ", prefill_step_size " << o.prefill_step_size
                   << ", prompt of " << prompt.size() << ", max_tokens " << o.max_tokens);
      int64_t from_draft = 0, accepted = 0;
      const Generated got = speculative(prompt, tc, dc, o, from_draft, accepted);
      const Generated want = testing::greedy_run(*target_, prompt, pc, o.max_tokens);
      expect_same(got, want);
      EXPECT_EQ(from_draft, accepted);
      history.insert(history.end(), prompt.begin(), prompt.end());
      history.insert(history.end(), got.tokens.begin(), got.tokens.end());
      for (const PromptCache* c : {&tc, &dc, &pc}) {
        for (const auto& layer : *c)
          ASSERT_EQ(layer->offset(), static_cast<int64_t>(history.size()));
      }
      expect_holds(*target_, tc, history, tc.size());
      expect_holds(*draft_, dc, history, 1);
      accepted_in_all += accepted;
      produced_in_all += static_cast<int64_t>(got.tokens.size());
    }
  }
  // The draft must be neither always right nor always wrong for the runs to test both paths.
  EXPECT_GT(accepted_in_all, 0);
  EXPECT_LT(accepted_in_all, produced_in_all);
}

}  // namespace
}  // namespace mlxlm
