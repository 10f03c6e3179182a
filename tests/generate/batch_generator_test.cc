// Continuous batching (spec 2.4 / 10.2) against single-sequence generation on a random model.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "batch_fixture.h"
#include "cache/rotating_kv_cache.h"
#include "generate/stop_matcher.h"
#include "models/make_prompt_cache.h"
#include "sampling/sampler.h"

namespace mlxlm {
namespace {

using testing::BatchGeneratorTest;
using testing::run_all;

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

// The statistics count every prompt token processed (not those already in a given cache) and
// every reported token; the generator holds cache memory only while it has sequences.
TEST_F(BatchGeneratorTest, StatsCountProcessedAndGeneratedTokens) {
  BatchGeneratorOptions o;
  o.max_tokens = 5;
  o.prefill_step_size = 2;
  BatchGenerator gen(*model_, o);
  EXPECT_EQ(gen.prompt_cache_nbytes(), 0u);
  PromptCache prefix = make_prompt_cache(*model_);
  single({7, 8, 9}, 0, 0, &prefix);  // a cache holding 3 tokens before its prompt
  auto uids = insert_prompts(gen);
  gen.insert({{.prompt = {4, 5}, .cache = &prefix, .cached_tokens = {7, 8, 9}}});
  gen.next();
  EXPECT_GT(gen.prompt_cache_nbytes(), 0u);
  auto out = run_all(gen);
  int64_t prompt_tokens = 2, generated = 0;
  for (const auto& p : prompts_) prompt_tokens += static_cast<int64_t>(p.size());
  for (const auto& [uid, rs] : out) generated += static_cast<int64_t>(rs.size());
  EXPECT_EQ(generated, 5 * static_cast<int64_t>(uids.size() + 1));
  BatchStats st = gen.stats();
  EXPECT_EQ(st.prompt_tokens, prompt_tokens);
  EXPECT_EQ(st.generation_tokens, generated);
  ASSERT_GT(st.prompt_time, 0.0);
  ASSERT_GT(st.generation_time, 0.0);
  EXPECT_DOUBLE_EQ(st.prompt_tps, static_cast<double>(st.prompt_tokens) / st.prompt_time);
  EXPECT_DOUBLE_EQ(st.generation_tps,
                   static_cast<double>(st.generation_tokens) / st.generation_time);
  EXPECT_GT(st.peak_memory, 0.0);
  EXPECT_EQ(gen.prompt_cache_nbytes(), 0u) << "every sequence finished";
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
