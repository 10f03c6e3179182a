// The batch generator's requests: checks at insert, segment pauses, cache extraction and
// removal with caches, against single-sequence generation. Failures: batch_failures_test.cc.
#include <gtest/gtest.h>

#include <map>

#include "base/error.h"
#include "batch_fixture.h"
#include "cache/quantized_kv_cache.h"
#include "cache/rotating_kv_cache.h"
#include "models/make_prompt_cache.h"

namespace mlxlm {
namespace {

using testing::BatchGeneratorTest;

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
  expect_refused({{.prompt = prompts_[1], .cached_tokens = {5, 96}}},
                 "cached_tokens token 1 (id 96) is outside the vocabulary of 96");
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

// A top_k the vocabulary cannot hold would fail the sequence's first draw, after its prompt: it
// is refused at insert, as is a request whose sampler options are bad, and neither queues the
// good requests beside it. Greedy sampling applies no filter, so there it is harmless.
TEST_F(BatchGeneratorTest, SamplerOptionsAreCheckedAtInsert) {
  BatchGenerator gen(*model_);
  SamplerOptions wide{.temp = 1.0f, .top_k = 96};
  try {
    gen.insert({{.prompt = prompts_[0]}, {.prompt = prompts_[1], .sampler = wide}});
    ADD_FAILURE() << "top_k 96 was accepted for a vocabulary of 96";
  } catch (const InvalidInput& e) {
    EXPECT_NE(
        std::string(e.what()).find("top_k must be less than the vocabulary size (96), got 96"),
        std::string::npos)
        << e.what();
  }
  SamplerOptions negative{.temp = -1.0f};
  EXPECT_THROW(gen.insert({{.prompt = prompts_[0]}, {.prompt = prompts_[1], .sampler = negative}}),
               InvalidInput);
  EXPECT_TRUE(gen.done());
  EXPECT_EQ(gen.insert({{.prompt = prompts_[0], .sampler = SamplerOptions{.top_k = 96}}}),
            std::vector<uint64_t>{0});
}

// Segment ends outside the prompt, or out of order, are refused at insert.
TEST_F(BatchGeneratorTest, SegmentEndsMustIncreaseInsideThePrompt) {
  BatchGenerator gen(*model_);
  for (std::vector<int64_t> ends : {std::vector<int64_t>{0}, {5}, {3, 2}, {2, 2}}) {
    EXPECT_THROW(gen.insert({{.prompt = prompts_[0], .segment_ends = ends}}), InvalidInput);
  }
  EXPECT_TRUE(gen.done());
}

}  // namespace
}  // namespace mlxlm
