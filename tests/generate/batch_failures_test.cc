// The batch generator's failures: a sequence whose own logits processor throws ends alone; a
// forward pass that throws ends its batch (the decoding one, or the prompts being processed), a
// prompt that cannot join the decoding batch ends both, and the generator goes on with the rest.
// Held to single-sequence generation.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <stdexcept>

#include "batch_fixture.h"

namespace mlxlm {
namespace {

using testing::BatchGeneratorTest;

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
  BatchGenerator gen(*model_, {.max_tokens = 8});
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
  BatchGenerator gen(*model_, {.max_tokens = 5});
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
  BatchGenerator gen(*model_, {.max_tokens = 5});
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

// The model, wrapped so that the first forward pass `fails` picks throws.
class FailingModel : public Model {
 public:
  using Picker = std::function<bool(int64_t tokens, int64_t batch)>;
  FailingModel(const Model& inner, Picker fails) : inner_(inner), fails_(std::move(fails)) {}
  const ModelInfo& info() const override { return inner_.info(); }
  Tensor forward(std::span<const int32_t> tokens, int64_t batch, PromptCache& cache,
                 bool last_only) const override {
    if (!failed_ && fails_(static_cast<int64_t>(tokens.size()), batch)) {
      failed_ = true;
      throw std::runtime_error("forward failed");
    }
    return inner_.forward(tokens, batch, cache, last_only);
  }
  PromptCache make_cache() const override { return inner_.make_cache(); }
  std::vector<kernels::WeightRef> step_weights() const override { return inner_.step_weights(); }

 private:
  const Model& inner_;
  Picker fails_;
  mutable bool failed_ = false;
};

std::vector<int32_t> tokens_of(const std::vector<BatchTokenResponse>& rs) {
  std::vector<int32_t> out;
  for (const auto& r : rs) out.push_back(r.token);
  return out;
}

// Inserts `first` and steps `gen` until it has reported two tokens, then inserts `second` and
// runs `gen` to the end: every response by uid, and the two uids.
struct DecodeThenInsert {
  uint64_t first, second;
  std::map<uint64_t, std::vector<BatchTokenResponse>> got;
};

DecodeThenInsert decode_then_insert(BatchGenerator& gen, const std::vector<int32_t>& first,
                                    const std::vector<int32_t>& second) {
  DecodeThenInsert out;
  out.first = gen.insert({{.prompt = first}})[0];
  while (out.got[out.first].size() < 2) {
    for (auto& r : gen.next().generation) out.got[r.uid].push_back(std::move(r));
  }
  out.second = gen.insert({{.prompt = second}})[0];
  for (auto& [uid, rs] : testing::run_all(gen)) {
    for (auto& r : rs) out.got[uid].push_back(std::move(r));
  }
  return out;
}

// A decoding step whose forward pass throws ends every decoding sequence without a new token or
// a cache (the batch's caches were fed partway), and the generator goes on: a sequence inserted
// afterwards decodes exactly as a single run would, so nothing of the failed batch is left.
TEST_F(BatchGeneratorTest, AFailedDecodingPassEndsItsBatchAndTheGeneratorGoesOn) {
  // Both prompts finish in one pass of 2 tokens (their first tokens); the next such pass is the
  // first decoding step.
  int passes = 0;
  FailingModel failing(*model_, [&](int64_t tokens, int64_t batch) {
    return tokens == 2 && batch == 2 && ++passes == 2;
  });
  BatchGenerator gen(failing, {.max_tokens = 6});
  auto uids = gen.insert({{.prompt = prompts_[0]}, {.prompt = prompts_[1]}});
  auto got = testing::run_all(gen);
  for (uint64_t uid : uids) {
    ASSERT_EQ(got[uid].size(), 1u) << "uid " << uid;
    const BatchTokenResponse& r = got[uid][0];
    EXPECT_EQ(r.token, -1);
    EXPECT_TRUE(r.logprobs.empty());
    EXPECT_EQ(r.finish_reason, "error");
    EXPECT_EQ(r.error, "forward failed");
    EXPECT_TRUE(r.prompt_cache.empty());
    EXPECT_TRUE(r.all_tokens.empty());
  }
  EXPECT_TRUE(gen.done());
  EXPECT_TRUE(gen.extract_cache(uids).empty());
  auto later = gen.insert({{.prompt = prompts_[2]}, {.prompt = prompts_[3]}});
  auto after = testing::run_all(gen);
  EXPECT_EQ(tokens_of(after[later[0]]), single(prompts_[2], 6).tokens);
  EXPECT_EQ(tokens_of(after[later[1]]), single(prompts_[3], 6).tokens);
}

// A prompt whose forward pass throws while other sequences decode ends alone with its prefill
// batch, without a token; the decoding sequences lose nothing (tokens, logprobs and caches as
// in single runs), and the generator takes the failed prompt again afterwards.
TEST_F(BatchGeneratorTest, AFailedPromptPassEndsOnlyThePrompts) {
  // prompts_[2] has 9 tokens: its first pass feeds 8 of them (the last one gives the first token).
  FailingModel failing(*model_,
                       [](int64_t tokens, int64_t batch) { return tokens == 8 && batch == 1; });
  BatchGenerator gen(failing, {.max_tokens = 8});
  auto [decoding, prompt, got] = decode_then_insert(gen, prompts_[0], prompts_[2]);
  ASSERT_EQ(got[prompt].size(), 1u);
  EXPECT_EQ(got[prompt][0].token, -1);
  EXPECT_EQ(got[prompt][0].finish_reason, "error");
  EXPECT_EQ(got[prompt][0].error, "forward failed");
  EXPECT_TRUE(got[prompt][0].prompt_cache.empty());
  const Single want = single(prompts_[0], 8);
  const std::vector<BatchTokenResponse>& rs = got[decoding];
  ASSERT_EQ(rs.size(), 8u);
  EXPECT_EQ(tokens_of(rs), want.tokens);
  for (size_t t = 0; t < rs.size(); ++t) expect_close(rs[t].logprobs, want.logprobs[t], 1e-4f);
  EXPECT_EQ(rs.back().finish_reason, "length");
  ASSERT_FALSE(rs.back().prompt_cache.empty());
  EXPECT_EQ(rs.back().prompt_cache[0]->offset(), static_cast<int64_t>(prompts_[0].size() + 8));
  auto again = gen.insert({{.prompt = prompts_[2]}});
  EXPECT_EQ(tokens_of(testing::run_all(gen)[again[0]]), single(prompts_[2], 8).tokens);
}

// The model, wrapped so that its caches become RotatingKVCaches from the `plain`+1-th
// make_cache call on: a prompt admitted then finishes with a batch cache that the decoding batch
// of plain caches cannot take in (BatchKVCache::extend throws while the finished prompt joins it).
class CacheSwitchingModel : public Model {
 public:
  CacheSwitchingModel(const Model& inner, int plain) : inner_(inner), plain_(plain) {}
  const ModelInfo& info() const override { return inner_.info(); }
  Tensor forward(std::span<const int32_t> tokens, int64_t batch, PromptCache& cache,
                 bool last_only) const override {
    return inner_.forward(tokens, batch, cache, last_only);
  }
  PromptCache make_cache() const override {
    PromptCache cache = inner_.make_cache();
    if (++calls_ > plain_) {
      for (auto& c : cache) c = std::make_unique<RotatingKVCache>(1024, 0);
    }
    return cache;
  }
  std::vector<kernels::WeightRef> step_weights() const override { return inner_.step_weights(); }

 private:
  const Model& inner_;
  int plain_;
  mutable int calls_ = 0;
};

// A finished prompt that cannot join the decoding batch ends the decoding sequences after the
// token they reported in that step (their caches may have been extended partway) and the prompt
// without a token; the generator goes on, and a request inserted afterwards decodes as a single
// run would.
TEST_F(BatchGeneratorTest, APromptThatCannotJoinTheDecodingBatchEndsBoth) {
  CacheSwitchingModel switching(*model_, 1);
  BatchGenerator gen(switching, {.max_tokens = 8});
  auto [decoding, joining, got] = decode_then_insert(gen, prompts_[0], prompts_[1]);
  // prompts_[1] has 2 tokens: one chunk, then its last token finishes it in the next step, in
  // which the decoding sequence reports its fourth token.
  const std::vector<BatchTokenResponse>& rs = got[decoding];
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(tokens_of(rs), single(prompts_[0], 4).tokens);
  for (size_t t = 0; t + 1 < rs.size(); ++t) EXPECT_EQ(rs[t].finish_reason, "") << "token " << t;
  EXPECT_EQ(rs.back().finish_reason, "error");
  EXPECT_NE(rs.back().error.find("BatchKVCache"), std::string::npos) << rs.back().error;
  EXPECT_TRUE(rs.back().prompt_cache.empty());
  ASSERT_EQ(got[joining].size(), 1u);
  EXPECT_EQ(got[joining][0].token, -1);
  EXPECT_EQ(got[joining][0].finish_reason, "error");
  EXPECT_EQ(got[joining][0].error, rs.back().error);
  EXPECT_TRUE(got[joining][0].prompt_cache.empty());
  EXPECT_TRUE(gen.done());
  auto later = gen.insert({{.prompt = prompts_[2]}});
  const std::vector<BatchTokenResponse> after = std::move(testing::run_all(gen)[later[0]]);
  EXPECT_EQ(tokens_of(after), single(prompts_[2], 8, 1024).tokens);
  EXPECT_EQ(after.back().prompt_cache.at(0)->class_name(), "RotatingKVCache");
}

}  // namespace
}  // namespace mlxlm
