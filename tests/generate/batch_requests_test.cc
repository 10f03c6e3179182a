// The batch generator's requests: checks at insert, segment pauses, cache extraction and
// removal with caches, and failures (of one sequence, of a step), against single-sequence
// generation.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

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

// A logits processor that throws on its `fail_at`-th call (1-based).
LogitsProcessor failing_at(int fail_at, int& calls) {
  return [fail_at, &calls](std::span<const int32_t>, std::span<float>) {
    if (++calls == fail_at) throw std::runtime_error("processor failed");
  };
}

// A sequence whose own logits processor throws ends alone, with finish_reason "error" on the
// token just fed (its cache holds it); the others run to the end as if it had never been there,
// and the generator takes new sequences afterwards.
TEST_F(BatchGeneratorTest, AFailingProcessorEndsOnlyItsSequence) {
  int calls = 0;
  BatchGeneratorOptions o;
  o.max_tokens = 8;
  BatchGenerator gen(*model_, o);
  // Calls: the first token, then one per decoding step: the third fails after two tokens.
  auto uids =
      gen.insert({{.prompt = prompts_[0], .logits_processors = std::vector{failing_at(3, calls)}},
                  {.prompt = prompts_[1]},
                  {.prompt = prompts_[2]}});
  auto got = testing::run_all(gen);
  const std::vector<BatchTokenResponse>& failed = got[uids[0]];
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].finish_reason, "");
  EXPECT_EQ(failed[1].finish_reason, "error");
  EXPECT_EQ(failed[1].error, "processor failed");
  const Single want0 = single(prompts_[0], 2);
  EXPECT_EQ((std::vector<int32_t>{failed[0].token, failed[1].token}), want0.tokens);
  std::vector<int32_t> held = prompts_[0];
  held.insert(held.end(), want0.tokens.begin(), want0.tokens.end());
  EXPECT_EQ(failed[1].all_tokens, held);
  ASSERT_FALSE(failed[1].prompt_cache.empty());
  EXPECT_EQ(failed[1].prompt_cache[0]->offset(), static_cast<int64_t>(held.size()));
  for (int p : {1, 2}) {
    const Single want = single(prompts_[p], 8);
    const std::vector<BatchTokenResponse>& rs = got[uids[p]];
    ASSERT_EQ(rs.size(), 8u) << "prompt " << p;
    for (size_t t = 0; t < rs.size(); ++t) {
      EXPECT_EQ(rs[t].token, want.tokens[t]) << "prompt " << p << " token " << t;
      expect_close(rs[t].logprobs, want.logprobs[t], 1e-4f);
    }
    EXPECT_EQ(rs.back().finish_reason, "length");
  }
  auto later = gen.insert({{.prompt = prompts_[3]}});
  std::vector<int32_t> tokens;
  auto after = testing::run_all(gen);
  for (const auto& r : after[later[0]]) tokens.push_back(r.token);
  EXPECT_EQ(tokens, single(prompts_[3], 8).tokens);
}

// A processor that throws at a sequence's first token: the sequence reports one response without
// a token (-1, no logprobs), its cache holding the prompt, while the sequences that finished
// their prompts in the same step decode on.
TEST_F(BatchGeneratorTest, AFailureAtTheFirstTokenReportsNoToken) {
  int calls = 0;
  BatchGeneratorOptions o;
  o.max_tokens = 5;
  BatchGenerator gen(*model_, o);
  auto uids =
      gen.insert({{.prompt = prompts_[1]},
                  {.prompt = prompts_[3], .logits_processors = std::vector{failing_at(1, calls)}},
                  {.prompt = prompts_[0]}});
  auto got = testing::run_all(gen);
  ASSERT_EQ(got[uids[1]].size(), 1u);
  const BatchTokenResponse& r = got[uids[1]][0];
  EXPECT_EQ(r.token, -1);
  EXPECT_TRUE(r.logprobs.empty());
  EXPECT_EQ(r.finish_reason, "error");
  EXPECT_EQ(r.error, "processor failed");
  EXPECT_EQ(r.all_tokens, prompts_[3]);
  ASSERT_FALSE(r.prompt_cache.empty());
  EXPECT_EQ(r.prompt_cache[0]->offset(), static_cast<int64_t>(prompts_[3].size()));
  for (int i : {0, 2}) {
    const std::vector<int32_t>& prompt = prompts_[i == 0 ? 1 : 0];
    std::vector<int32_t> tokens;
    for (const auto& t : got[uids[i]]) tokens.push_back(t.token);
    EXPECT_EQ(tokens, single(prompt, 5).tokens) << "request " << i;
  }
}

// When every sequence of a step fails at its first token, the decoding batch is left empty, and
// the generator starts the next request from an empty batch as it would a new one.
TEST_F(BatchGeneratorTest, ABatchWhoseFirstTokensAllFailTakesNewRequests) {
  int calls[2] = {0, 0};
  BatchGeneratorOptions o;
  o.max_tokens = 5;
  BatchGenerator gen(*model_, o);
  auto uids = gen.insert(
      {{.prompt = prompts_[0], .logits_processors = std::vector{failing_at(1, calls[0])}},
       {.prompt = prompts_[2], .logits_processors = std::vector{failing_at(1, calls[1])}}});
  auto got = testing::run_all(gen);
  for (uint64_t uid : uids) {
    ASSERT_EQ(got[uid].size(), 1u);
    EXPECT_EQ(got[uid][0].token, -1);
    EXPECT_EQ(got[uid][0].finish_reason, "error");
  }
  EXPECT_TRUE(gen.done());
  auto later = gen.insert({{.prompt = prompts_[1]}});
  auto after = testing::run_all(gen);
  std::vector<int32_t> tokens;
  for (const auto& r : after[later[0]]) tokens.push_back(r.token);
  EXPECT_EQ(tokens, single(prompts_[1], 5).tokens);
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

// The model, wrapped so that one forward pass throws.
class FailingModel : public Model {
 public:
  FailingModel(const Model& inner, int fail_at) : inner_(inner), fail_at_(fail_at) {}
  const ModelInfo& info() const override { return inner_.info(); }
  Tensor forward(std::span<const int32_t> tokens, int64_t batch, PromptCache& cache,
                 bool last_only) const override {
    if (++calls_ == fail_at_) throw std::runtime_error("forward failed");
    return inner_.forward(tokens, batch, cache, last_only);
  }
  PromptCache make_cache() const override { return inner_.make_cache(); }
  std::vector<kernels::WeightRef> step_weights() const override { return inner_.step_weights(); }

 private:
  const Model& inner_;
  int fail_at_;
  mutable int calls_ = 0;
};

// A step whose forward pass throws spends the generator: later steps throw too, instead of
// feeding the stale tokens the failed step left behind.
TEST_F(BatchGeneratorTest, AFailedForwardPassSpendsTheGenerator) {
  FailingModel failing(*model_, 3);
  BatchGeneratorOptions o;
  o.max_tokens = 8;
  BatchGenerator gen(failing, o);
  gen.insert({{.prompt = prompts_[0]}, {.prompt = prompts_[1]}});
  try {
    while (!gen.done()) gen.next();
    FAIL() << "the model's exception did not come through";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "forward failed");
  }
  try {
    gen.next();
    FAIL() << "a spent generator stepped again";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("cannot go on after a failed step (forward failed)"),
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

}  // namespace
}  // namespace mlxlm
