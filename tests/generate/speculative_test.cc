// Speculative decoding (spec 2.2 and 10.2) on random tiny models.
#include <gtest/gtest.h>

#include "base/error.h"
#include "cache/rotating_kv_cache.h"
#include "mlxlm/speculative.h"
#include "models/registry.h"
#include "random_model.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

class SpeculativeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::RandomModelSpec spec;
    spec.vocab = 96;
    testing::write_random_model(target_dir_.path(), spec);
    spec.seed = 2;  // a different, weaker "draft"
    spec.layers = 1;
    testing::write_random_model(draft_dir_.path(), spec);
    target_ = load_model(target_dir_.path());
    other_draft_ = load_model(draft_dir_.path());
  }

  std::vector<int32_t> plain_greedy(int n, int kv_bits = 0, int64_t quantized_kv_start = 0) {
    PromptCache cache = target_->make_cache();
    Sampler greedy;
    GenerateStepOptions o;
    o.max_tokens = n;
    o.kv_bits = kv_bits;
    o.kv_group_size = 16;
    o.quantized_kv_start = quantized_kv_start;
    TokenGenerator gen(*target_, prompt_, cache, greedy, {}, o);
    std::vector<int32_t> out;
    while (auto s = gen.next()) out.push_back(s->token);
    return out;
  }

  // Greedy speculative decoding of prompt_ by the target with `draft`, into caches tc and dc.
  std::vector<int32_t> speculative_greedy(const Model& draft, PromptCache& tc, PromptCache& dc,
                                          const SpeculativeOptions& o) {
    Sampler greedy;
    SpeculativeTokenGenerator gen(*target_, draft, prompt_, tc, dc, greedy, {}, o);
    std::vector<int32_t> tokens;
    while (auto s = gen.next()) tokens.push_back(s->token);
    return tokens;
  }

  testing::TempDir target_dir_, draft_dir_;
  std::unique_ptr<Model> target_, other_draft_;
  const std::vector<int32_t> prompt_ = {3, 14, 15, 92, 65, 35, 89, 79};
};

TEST_F(SpeculativeTest, DraftEqualToTargetAcceptsAllButTheBonusTokens) {
  PromptCache tc = target_->make_cache();
  PromptCache dc = target_->make_cache();
  Sampler greedy;
  SpeculativeOptions o;
  o.max_tokens = 5;
  o.num_draft_tokens = 2;
  SpeculativeTokenGenerator gen(*target_, *target_, prompt_, tc, dc, greedy, {}, o);
  std::vector<bool> flags;
  std::vector<int32_t> tokens;
  while (auto s = gen.next()) {
    flags.push_back(s->from_draft);
    tokens.push_back(s->token);
  }
  EXPECT_EQ(flags, (std::vector<bool>{true, true, false, true, true}));
  EXPECT_EQ(tokens, plain_greedy(5));
}

TEST_F(SpeculativeTest, GreedyOutputEqualsPlainGenerationWithAWeakDraft) {
  for (int k : {1, 2, 3, 5}) {
    SCOPED_TRACE("num_draft_tokens " + std::to_string(k));
    PromptCache tc = target_->make_cache();
    PromptCache dc = other_draft_->make_cache();
    Sampler greedy;
    SpeculativeOptions o;
    o.max_tokens = 24;
    o.num_draft_tokens = k;
    SpeculativeTokenGenerator gen(*target_, *other_draft_, prompt_, tc, dc, greedy, {}, o);
    std::vector<int32_t> tokens;
    while (auto s = gen.next()) tokens.push_back(s->token);
    EXPECT_EQ(tokens, plain_greedy(24));
    EXPECT_GT(gen.drafted(), 0);
    EXPECT_LE(gen.accepted(), gen.drafted());
    // The target cache holds the prompt and every token but the last emitted one (mlx-lm).
    EXPECT_EQ(tc[0]->offset(), static_cast<int64_t>(prompt_.size() + tokens.size()) - 1);
  }
}

// kv_bits quantizes both caches, as generate_step does (mlx-lm's quantize_cache_fn after every
// forward pass), and the greedy text stays that of plain generation with the same kv_bits. The
// caches pass quantized_kv_start (12) during the rounds, after the 7-token prefill.
TEST_F(SpeculativeTest, KvBitsQuantizesBothCaches) {
  PromptCache tc = target_->make_cache();
  PromptCache dc = other_draft_->make_cache();
  SpeculativeOptions o;
  o.max_tokens = 16;
  o.num_draft_tokens = 3;
  o.kv_bits = 8;
  o.kv_group_size = 16;
  o.quantized_kv_start = 12;
  EXPECT_EQ(speculative_greedy(*other_draft_, tc, dc, o), plain_greedy(16, 8, 12));
  for (const PromptCache* cache : {&tc, &dc}) {
    for (const auto& c : *cache) EXPECT_EQ(c->class_name(), "QuantizedKVCache");
  }
  EXPECT_EQ(tc[0]->offset(), static_cast<int64_t>(prompt_.size()) + 16 - 1);
}

// A rotating cache stops being trimmable once its window is full; the rewind that then needs it
// is an error, not a silently skipped trim that would leave rejected drafts in the cache.
TEST_F(SpeculativeTest, RewindingAFullRotatingCacheIsAnError) {
  PromptCache tc = target_->make_cache();
  for (auto& c : tc) c = std::make_unique<RotatingKVCache>(12, 0);
  PromptCache dc = other_draft_->make_cache();
  SpeculativeOptions o;
  o.max_tokens = 24;
  o.num_draft_tokens = 3;
  try {
    speculative_greedy(*other_draft_, tc, dc, o);
    FAIL() << "a rewind of a full rotating cache went through";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("trimmable"), std::string::npos) << e.what();
  }
}

TEST_F(SpeculativeTest, DifferentVocabulariesAreRejected) {
  testing::TempDir dir;
  testing::RandomModelSpec spec;
  spec.vocab = 100;
  testing::write_random_model(dir.path(), spec);
  auto other = load_model(dir.path());
  PromptCache tc = target_->make_cache();
  PromptCache dc = other->make_cache();
  Sampler greedy;
  try {
    SpeculativeTokenGenerator gen(*target_, *other, prompt_, tc, dc, greedy);
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("vocabulary"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mlxlm
