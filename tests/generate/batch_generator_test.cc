// Continuous batching (spec 2.4 / 10.2) against single-sequence generation on a random model.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <stdexcept>

#include "base/error.h"
#include "cache/kv_cache.h"
#include "cache/quantized_kv_cache.h"
#include "cache/rotating_kv_cache.h"
#include "generate/stop_matcher.h"
#include "greedy_run.h"
#include "mlxlm/batch.h"
#include "models/make_prompt_cache.h"
#include "models/registry.h"
#include "random_model.h"
#include "sampling/sampler.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

class BatchGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::RandomModelSpec spec;
    spec.vocab = 96;
    testing::write_random_model(dir_.path(), spec);
    model_ = load_model(dir_.path());
  }

  using Single = testing::Generated;
  // Greedy single-sequence generation with a plain (or rotating) cache.
  Single single(const std::vector<int32_t>& prompt, int n, int64_t max_kv = 0,
                PromptCache* cache = nullptr) {
    PromptCache own = model_->make_cache();
    if (max_kv > 0) {  // what the batch generator uses: RotatingKVCache(max_kv, keep=0)
      for (auto& c : own) c = std::make_unique<RotatingKVCache>(max_kv, 0);
    }
    return testing::greedy_run(*model_, prompt, cache != nullptr ? *cache : own, n);
  }

  // Inserts every prompt with the generator's defaults; returns their uids in prompt order.
  std::vector<uint64_t> insert_prompts(BatchGenerator& gen) const {
    std::vector<BatchRequest> reqs;
    for (const auto& p : prompts_) reqs.push_back({.prompt = p});
    return gen.insert(std::move(reqs));
  }

  static void expect_close(const std::vector<float>& a, const std::vector<float>& b, float tol) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t v = 0; v < a.size(); ++v) ASSERT_NEAR(a[v], b[v], tol) << "index " << v;
  }

  testing::TempDir dir_;
  std::unique_ptr<Model> model_;
  const std::vector<std::vector<int32_t>> prompts_ = {
      {3, 14, 15, 92, 65}, {35, 89}, {79, 32, 38, 46, 26, 43, 38, 32, 79}, {50, 28, 84}};
};

std::map<uint64_t, std::vector<BatchTokenResponse>> run_all(BatchGenerator& gen) {
  std::map<uint64_t, std::vector<BatchTokenResponse>> out;
  while (!gen.done()) {
    for (auto& r : gen.next_generated()) out[r.uid].push_back(std::move(r));
  }
  return out;
}

TEST_F(BatchGeneratorTest, BatchedTokensAndLogprobsMatchSingleSequences) {
  for (int64_t max_kv : {int64_t{0}, int64_t{6}}) {
    SCOPED_TRACE(max_kv == 0 ? "KVCache" : "RotatingKVCache(6)");
    BatchGeneratorOptions o;
    o.max_tokens = 6;
    o.max_kv_size = max_kv;
    BatchGenerator gen(*model_, o);
    auto uids = insert_prompts(gen);
    auto out = run_all(gen);
    for (size_t i = 0; i < prompts_.size(); ++i) {
      Single s = single(prompts_[i], 6, max_kv);
      const auto& rs = out[uids[i]];
      ASSERT_EQ(rs.size(), 6u);
      for (size_t t = 0; t < rs.size(); ++t) {
        EXPECT_EQ(rs[t].token, s.tokens[t]) << "prompt " << i << " token " << t;
        expect_close(rs[t].logprobs, s.logprobs[t], 1e-4f);
      }
      EXPECT_EQ(rs.back().finish_reason, "length");
    }
  }
}

TEST_F(BatchGeneratorTest, RightPaddedChunkedPrefillMatchesSingleSequences) {
  BatchGeneratorOptions o;
  o.max_tokens = 4;
  o.prefill_step_size = 3;  // prompts of 2..9 tokens: chunks of different widths, right-padded
  BatchGenerator gen(*model_, o);
  auto uids = insert_prompts(gen);

  // The first round prefills every prompt in one batch: min(3, length - 1) tokens each.
  BatchGenerator::Step first = gen.next();
  ASSERT_EQ(first.prompt.size(), prompts_.size());
  EXPECT_TRUE(first.generation.empty());
  const std::vector<int64_t> expected = {3, 1, 3, 2};
  for (size_t i = 0; i < prompts_.size(); ++i) {
    EXPECT_EQ(first.prompt[i].uid, uids[i]);
    EXPECT_EQ(first.prompt[i].processed, expected[i]) << "prompt " << i;
    EXPECT_EQ(first.prompt[i].total, static_cast<int64_t>(prompts_[i].size()));
    EXPECT_FALSE(first.prompt[i].end_of_prompt);
  }
  // The second round feeds the last token of the two prompts that have only that left.
  BatchGenerator::Step second = gen.next();
  std::vector<uint64_t> ended;
  for (const auto& p : second.prompt) {
    if (p.end_of_prompt) ended.push_back(p.uid);
  }
  EXPECT_EQ(ended, (std::vector<uint64_t>{uids[1], uids[3]}));

  auto out = run_all(gen);
  for (size_t i = 0; i < prompts_.size(); ++i) {
    Single s = single(prompts_[i], 4);
    const auto& rs = out[uids[i]];
    ASSERT_EQ(rs.size(), 4u);
    for (size_t t = 0; t < rs.size(); ++t) {
      EXPECT_EQ(rs[t].token, s.tokens[t]) << "prompt " << i << " token " << t;
      expect_close(rs[t].logprobs, s.logprobs[t], 1e-4f);
    }
  }
}

TEST_F(BatchGeneratorTest, PerSequenceMaxTokensGiveTheSingleRunTokens) {
  BatchGeneratorOptions o;
  o.prefill_batch_size = 2;
  o.completion_batch_size = 3;
  o.prefill_step_size = 2;  // several prefill rounds, sequences joining a running batch
  BatchGenerator gen(*model_, o);
  std::vector<BatchRequest> reqs;
  for (size_t i = 0; i < prompts_.size(); ++i)
    reqs.push_back({.prompt = prompts_[i], .max_tokens = int(2 + i)});
  auto uids = gen.insert(std::move(reqs));
  auto out = run_all(gen);
  for (size_t i = 0; i < prompts_.size(); ++i) {
    std::vector<int32_t> got;
    for (const auto& r : out[uids[i]]) got.push_back(r.token);
    EXPECT_EQ(got, single(prompts_[i], static_cast<int>(2 + i)).tokens) << "prompt " << i;
    EXPECT_EQ(out[uids[i]].back().finish_reason, "length");
  }
}

TEST_F(BatchGeneratorTest, NoCachesWhenTurnedOffAndTheSameTokens) {
  BatchGeneratorOptions o;
  o.max_tokens = 3;
  o.return_prompt_caches = false;
  BatchGenerator gen(*model_, o);
  auto uids = insert_prompts(gen);
  auto out = run_all(gen);
  for (size_t i = 0; i < prompts_.size(); ++i) {
    const auto& rs = out[uids[i]];
    ASSERT_EQ(rs.size(), 3u);
    EXPECT_TRUE(rs.back().prompt_cache.empty()) << "prompt " << i;
    EXPECT_TRUE(rs.back().all_tokens.empty()) << "prompt " << i;
    std::vector<int32_t> got;
    for (const auto& r : rs) got.push_back(r.token);
    EXPECT_EQ(got, single(prompts_[i], 3).tokens) << "prompt " << i;
  }
}

TEST_F(BatchGeneratorTest, ReturnedCachesContinueLikeASingleSequence) {
  BatchGeneratorOptions o;
  o.max_tokens = 3;
  BatchGenerator gen(*model_, o);
  auto uids = insert_prompts(gen);
  auto first = run_all(gen);

  // Continue every sequence with a new prompt through its returned cache.
  const std::vector<int32_t> follow = {11, 12, 13};
  BatchGenerator gen2(*model_, o);
  std::vector<BatchRequest> more;
  for (size_t i = 0; i < prompts_.size(); ++i) {
    const BatchTokenResponse& last = first[uids[i]].back();
    ASSERT_FALSE(last.prompt_cache.empty());
    EXPECT_EQ(last.prompt_cache[0]->offset(), static_cast<int64_t>(last.all_tokens.size()));
    more.push_back(
        {.prompt = follow, .cache = &last.prompt_cache, .cached_tokens = last.all_tokens});
  }
  auto uids2 = gen2.insert(std::move(more));
  auto second = run_all(gen2);

  for (size_t i = 0; i < prompts_.size(); ++i) {
    // Single sequence: prompt, its 3 tokens (all in the cache), then the follow-up prompt.
    PromptCache cache = make_prompt_cache(*model_);
    Single s1 = single(prompts_[i], 3, 0, &cache);
    Single s2 = single(follow, 3, 0, &cache);
    const auto& rs = second[uids2[i]];
    ASSERT_EQ(rs.size(), 3u);
    for (size_t t = 0; t < 3; ++t) {
      EXPECT_EQ(rs[t].token, s2.tokens[t]);
      expect_close(rs[t].logprobs, s2.logprobs[t], 1e-4f);
    }
  }
}

TEST_F(BatchGeneratorTest, RemovalDuringPrefillKeepsTheBatchConsistent) {
  BatchGeneratorOptions o;
  o.max_tokens = 4;
  o.prefill_step_size = 2;
  BatchGenerator gen(*model_, o);
  auto uids = insert_prompts(gen);
  auto step = gen.next();  // some prompts are now part-way through prefill
  ASSERT_FALSE(step.prompt.empty());
  gen.remove({uids[2]});  // the longest prompt, still prefilling
  auto out = run_all(gen);
  EXPECT_EQ(out.count(uids[2]), 0u);
  for (size_t i : {0, 1, 3}) {
    std::vector<int32_t> got;
    for (const auto& r : out[uids[i]]) got.push_back(r.token);
    EXPECT_EQ(got, single(prompts_[i], 4).tokens) << "prompt " << i;
  }
}

TEST_F(BatchGeneratorTest, RemovalWhileDecodingKeepsOtherRowsExact) {
  BatchGeneratorOptions o;
  o.max_tokens = 6;
  BatchGenerator gen(*model_, o);
  auto uids = insert_prompts(gen);
  std::map<uint64_t, std::vector<int32_t>> got;
  bool removed = false;
  while (!gen.done()) {
    for (auto& r : gen.next_generated()) got[r.uid].push_back(r.token);
    if (!removed && got[uids[0]].size() >= 2) {
      gen.remove({uids[0]});
      removed = true;
    }
  }
  for (size_t i : {1, 2, 3}) EXPECT_EQ(got[uids[i]], single(prompts_[i], 6).tokens);
}

// A bad request throws from insert() and queues nothing, not even the good requests of the same
// call (whose uids the caller never receives); the generator then runs the next insert as if
// the bad one had never been made. Without the checks, a bad token id or cache threw from a
// later next() and stranded every sequence batched with it.
TEST_F(BatchGeneratorTest, InsertChecksEveryRequestBeforeQueuingAny) {
  BatchGeneratorOptions o;
  o.max_tokens = 4;
  BatchGenerator gen(*model_, o);
  auto expect_refused = [&](std::vector<BatchRequest> requests, const std::string& message) {
    try {
      gen.insert(std::move(requests));
      ADD_FAILURE() << "accepted; expected: " << message;
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
    EXPECT_TRUE(gen.done()) << message;
  };
  expect_refused({{.prompt = prompts_[0]}, {.prompt = {1, 96, 3}}},
                 "prompt token 1 (id 96) is outside the vocabulary of 96");
  expect_refused({{.prompt = prompts_[0]}, {.prompt = {}}}, "empty prompt");
  PromptCache short_cache = model_->make_cache();
  short_cache.pop_back();
  expect_refused({{.prompt = prompts_[1], .cache = &short_cache}},
                 "cache has 1 layers, the model has 2");
  PromptCache quantized = model_->make_cache();
  quantized[1] = std::make_unique<QuantizedKVCache>();
  expect_refused({{.prompt = prompts_[1], .cache = &quantized}},
                 "layer 1 of a batch request's cache is a QuantizedKVCache; this generator "
                 "batches KVCache layers");
  PromptCache empty = model_->make_cache();
  expect_refused({{.prompt = prompts_[1], .cache = &empty, .cached_tokens = {5, 6}}},
                 "cached_tokens holds 2 tokens, but layer 0 of its cache holds 0");

  auto uids = gen.insert({{.prompt = prompts_[2]}});
  EXPECT_EQ(uids, std::vector<uint64_t>{0}) << "refused requests take no uids";
  std::vector<int32_t> got;
  while (!gen.done()) {
    for (auto& r : gen.next_generated()) got.push_back(r.token);
  }
  EXPECT_EQ(got, single(prompts_[2], 4).tokens);
}

// Prompt processing pauses at the request's segment ends and just before the last prompt token;
// a cache extracted at a pause holds exactly the prompt so far: continuing it with the rest of
// the prompt gives the single-sequence run of the whole prompt. The pauses change nothing in
// what the batch generates.
TEST_F(BatchGeneratorTest, SegmentEndsPauseThePromptWhereItsCacheCanBeKept) {
  BatchGeneratorOptions o;
  o.max_tokens = 4;
  o.prefill_step_size = 16;
  BatchGenerator gen(*model_, o);
  const std::vector<int32_t>& prompt = prompts_[2];  // 9 tokens
  auto uids = gen.insert({{.prompt = prompt, .segment_ends = {3, 6}}, {.prompt = prompts_[0]}});
  std::vector<int64_t> pauses;
  std::map<uint64_t, std::vector<int32_t>> got;
  const Single whole = single(prompt, 4);
  while (!gen.done()) {
    BatchGenerator::Step step = gen.next();
    for (const auto& p : step.prompt) {
      if (p.uid != uids[0] || !p.end_of_segment) continue;
      pauses.push_back(p.processed);
      if (p.end_of_prompt) continue;
      SequenceCache kept = std::move(gen.extract_cache({p.uid}).at(p.uid));
      ASSERT_EQ(kept.tokens, std::vector<int32_t>(prompt.begin(), prompt.begin() + p.processed));
      ASSERT_EQ(kept.cache[0]->offset(), p.processed);
      const std::vector<int32_t> rest(prompt.begin() + p.processed, prompt.end());
      Single continued = single(rest, 4, 0, &kept.cache);
      EXPECT_EQ(continued.tokens, whole.tokens) << "paused at " << p.processed;
      expect_close(continued.logprobs[0], whole.logprobs[0], 1e-4f);
    }
    for (const auto& r : step.generation) got[r.uid].push_back(r.token);
  }
  EXPECT_EQ(pauses, (std::vector<int64_t>{3, 6, 8, 9}));
  EXPECT_EQ(got[uids[0]], whole.tokens);
  EXPECT_EQ(got[uids[1]], single(prompts_[0], 4).tokens);
}

// extract_cache() and remove(..., true) give each sequence's cache wherever it is: empty while
// queued, the processed prompt while prefilling, the prompt and every reported token while
// decoding. Each continues like the single-sequence cache of the same tokens.
TEST_F(BatchGeneratorTest, ExtractAndRemoveReturnCachesFromEveryStage) {
  BatchGeneratorOptions o;
  o.max_tokens = 6;
  o.prefill_step_size = 2;
  o.prefill_batch_size = 2;
  BatchGenerator gen(*model_, o);
  auto uids = insert_prompts(gen);
  const std::vector<int32_t> follow = {11, 12, 13};
  // The reference: a single-sequence cache holding `tokens`, continued with `follow`.
  auto expect_continues_like_single = [&](SequenceCache& c, const char* stage) {
    SCOPED_TRACE(stage);
    ASSERT_EQ(c.cache[0]->offset(), static_cast<int64_t>(c.tokens.size()));
    PromptCache ref = make_prompt_cache(*model_);
    if (!c.tokens.empty()) single(c.tokens, 0, 0, &ref);
    ASSERT_EQ(ref[0]->offset(), static_cast<int64_t>(c.tokens.size()));
    Single want = single(follow, 3, 0, &ref);
    Single have = single(follow, 3, 0, &c.cache);
    EXPECT_EQ(have.tokens, want.tokens);
    for (size_t t = 0; t < 3; ++t) expect_close(have.logprobs[t], want.logprobs[t], 1e-4f);
  };

  gen.next();  // prompts 0 and 1 prefilling (one chunk in), 2 and 3 queued
  auto early = gen.extract_cache(uids);
  ASSERT_EQ(early.size(), 4u);
  EXPECT_EQ(early[uids[0]].tokens,
            std::vector<int32_t>(prompts_[0].begin(), prompts_[0].begin() + 2));
  EXPECT_TRUE(early[uids[2]].tokens.empty());
  for (uint64_t u : uids) expect_continues_like_single(early[u], "queued or prefilling");

  std::map<uint64_t, std::vector<int32_t>> got;
  while (got[uids[1]].size() < 2) {
    for (auto& r : gen.next_generated()) got[r.uid].push_back(r.token);
  }
  auto removed = gen.remove({uids[1], 999}, /*return_prompt_caches=*/true);
  ASSERT_EQ(removed.size(), 1u) << "unknown uids are ignored";
  std::vector<int32_t> expected_tokens = prompts_[1];
  expected_tokens.insert(expected_tokens.end(), got[uids[1]].begin(), got[uids[1]].end());
  EXPECT_EQ(removed[uids[1]].tokens, expected_tokens);
  expect_continues_like_single(removed[uids[1]], "decoding");
  EXPECT_TRUE(gen.extract_cache({uids[1]}).empty()) << "removed";

  while (!gen.done()) {
    for (auto& r : gen.next_generated()) got[r.uid].push_back(r.token);
  }
  for (size_t i : {0, 2, 3}) EXPECT_EQ(got[uids[i]], single(prompts_[i], 6).tokens);
}

// With rotating caches smaller than the prompt, a cache extracted at a pause equals the single-
// sequence rotating cache fed the same chunks (a rotating cache's contents depend on how its
// prompt was chunked, so the reference is chunked at the same pauses).
TEST_F(BatchGeneratorTest, RotatingCachesExtractAtPausesLikeSingleSequenceChunks) {
  const int64_t window = 5;
  BatchGeneratorOptions o;
  o.max_tokens = 3;
  o.max_kv_size = window;
  BatchGenerator gen(*model_, o);
  const std::vector<int32_t>& prompt = prompts_[2];  // 9 tokens
  const std::vector<int64_t> ends = {3, 6};
  auto uids = gen.insert({{.prompt = prompt, .segment_ends = ends}, {.prompt = prompts_[1]}});
  PromptCache ref = model_->make_cache();
  for (auto& c : ref) c = std::make_unique<RotatingKVCache>(window, 0);
  int64_t fed = 0;
  int checked = 0;
  while (!gen.done()) {
    BatchGenerator::Step step = gen.next();
    for (const auto& p : step.prompt) {
      if (p.uid != uids[0] || !p.end_of_segment || p.end_of_prompt) continue;
      model_->forward(std::vector<int32_t>(prompt.begin() + fed, prompt.begin() + p.processed), 1,
                      ref, true);
      fed = p.processed;
      SequenceCache kept = std::move(gen.extract_cache({p.uid}).at(p.uid));
      PromptCache ref_copy = copy_prompt_cache(ref);
      const std::vector<int32_t> follow = {11, 12};
      Single want = single(follow, 2, 0, &ref_copy);
      Single have = single(follow, 2, 0, &kept.cache);
      EXPECT_EQ(have.tokens, want.tokens) << "paused at " << p.processed;
      for (size_t t = 0; t < 2; ++t) expect_close(have.logprobs[t], want.logprobs[t], 1e-4f);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3) << "pauses at 3, 6 and 8";
}

// A step that throws (here a logits processor) spends the generator: later steps throw too,
// instead of feeding the stale tokens the failed step left behind.
TEST_F(BatchGeneratorTest, AFailedStepSpendsTheGenerator) {
  int calls = 0;
  LogitsProcessor flaky = [&](std::span<const int32_t>, std::span<float>) {
    if (++calls == 3) throw std::runtime_error("processor failed");
  };
  BatchGeneratorOptions o;
  o.max_tokens = 8;
  BatchGenerator gen(*model_, o);
  gen.insert(
      {{.prompt = prompts_[0], .logits_processors = std::vector{flaky}}, {.prompt = prompts_[1]}});
  try {
    while (!gen.done()) gen.next();
    FAIL() << "the processor's exception did not come through";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "processor failed");
  }
  try {
    gen.next();
    FAIL() << "a spent generator stepped again";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("cannot go on after a failed step (processor failed)"),
              std::string::npos)
        << e.what();
  }
}

// Segment ends outside the prompt, or out of order, are refused at insert.
TEST_F(BatchGeneratorTest, SegmentEndsMustIncreaseInsideThePrompt) {
  BatchGenerator gen(*model_);
  for (std::vector<int64_t> ends : {std::vector<int64_t>{0}, {5}, {3, 2}, {2, 2}}) {
    EXPECT_THROW(gen.insert({{.prompt = prompts_[0], .segment_ends = ends}}), InvalidInput);
  }
  EXPECT_TRUE(gen.done());
}

TEST_F(BatchGeneratorTest, ProcessorsSeeThePromptFirstAndStopSequencesEndRows) {
  std::vector<size_t> first_seen;
  LogitsProcessor record = [&](std::span<const int32_t> tokens, std::span<float>) {
    if (first_seen.empty()) first_seen.push_back(tokens.size());
  };
  LogitsProcessor force7 = [](std::span<const int32_t>, std::span<float> logits) {
    logits[7] += 1000.0f;
  };
  BatchGeneratorOptions o;
  o.max_tokens = 5;
  BatchGenerator gen(*model_, o);
  auto uids = gen.insert({{.prompt = prompts_[0], .logits_processors = std::vector{record}},
                          {.prompt = prompts_[1],
                           .logits_processors = std::vector{force7},
                           .stop_tokens = std::vector<std::vector<int32_t>>{{7, 7}}}});
  auto out = run_all(gen);
  EXPECT_EQ(first_seen, (std::vector<size_t>{prompts_[0].size()}));
  const auto& forced = out[uids[1]];
  ASSERT_EQ(forced.size(), 2u);  // 7, then 7 completes the stop sequence
  EXPECT_EQ(forced[0].token, 7);
  EXPECT_EQ(forced[1].finish_reason, "stop");
  EXPECT_NEAR(forced[0].logprobs[7], 0.0f, 1e-4f);
}

// The shared sampler with a temperature draws on one thread in batch order: a sampler with the
// same seed, fed every reported row of log-probabilities in the order the tokens are reported,
// draws exactly the reported tokens (the other draws may run on the thread pool).
TEST_F(BatchGeneratorTest, SeededSharedSamplerDrawsInBatchOrder) {
  BatchGeneratorOptions o;
  o.max_tokens = 6;
  o.sampler.temp = 1.0f;
  o.sampler.seed = 42;
  BatchGenerator gen(*model_, o);
  insert_prompts(gen);
  Sampler replay(o.sampler);
  int drawn = 0;
  while (!gen.done()) {
    for (const auto& r : gen.next_generated()) {
      ASSERT_EQ(replay.sample(r.logprobs), r.token) << "draw " << drawn;
      ++drawn;
    }
  }
  EXPECT_EQ(drawn, 6 * static_cast<int>(prompts_.size()));
}

TEST(StopSequenceMatcher, MatchesSequencesAcrossPartialOverlaps) {
  StopSequenceMatcher m({{2}, {5, 6, 7}, {6, 8}});
  EXPECT_FALSE(m.advance(5));
  EXPECT_FALSE(m.advance(6));
  EXPECT_TRUE(m.advance(8));  // 5,6 fails over to the suffix 6, then 6,8 matches
  m.reset();
  EXPECT_FALSE(m.advance(5));
  EXPECT_FALSE(m.advance(5));
  EXPECT_FALSE(m.advance(6));
  EXPECT_TRUE(m.advance(7));
  EXPECT_TRUE(m.advance(2));
  EXPECT_FALSE(m.advance(9));
}

}  // namespace
}  // namespace mlxlm
