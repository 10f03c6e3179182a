// Continuous batching under random schedules: requests inserted between any two steps, removed at
// any stage, with random batch sizes, prefill chunk sizes, per-request token limits, plain or
// rotating caches, prompts that pause at segment ends, prompts that continue from a cache an
// earlier sequence returned, and greedy or seeded sampling. Every sequence is held to its own
// single-sequence run from the same cache with the same sampler: what finishes gives that run's
// tokens and log-probabilities and a cache holding its tokens, and what is removed has given a
// prefix of them.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "batch_fixture.h"

namespace mlxlm {
namespace {

using testing::BatchGeneratorTest;

struct Live {
  std::vector<int32_t> prompt;
  PromptCache base;  // the cache it continues from (empty: a fresh one)
  std::vector<int32_t> cached_tokens;
  std::optional<SamplerOptions> sampler;  // none: the generator's greedy one
  int max_tokens = 0;
  bool removed = false;
  std::vector<BatchTokenResponse> got;
};

class BatchScheduleTest : public BatchGeneratorTest {
 protected:
  // One random schedule from `seed`.
  void run_schedule(uint32_t seed) {
    std::mt19937 rng(seed);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    BatchGeneratorOptions o;
    o.completion_batch_size = pick(1, 6);
    o.prefill_batch_size = pick(1, 4);
    o.prefill_step_size = pick(1, 8);
    o.max_kv_size = pick(0, 1) == 0 ? 0 : pick(6, 24);
    SCOPED_TRACE(::testing::Message()
                 << "seed " << seed << ": completion " << o.completion_batch_size << ", prefill "
                 << o.prefill_batch_size << ", step " << o.prefill_step_size << ", max_kv "
                 << o.max_kv_size);
    BatchGenerator gen(*model_, o);
    std::map<uint64_t, Live> seqs;
    int inserted = 0;
    for (int step = 0; step < 200 && (inserted < 12 || !gen.done()); ++step) {
      if (inserted < 12 && pick(0, 2) == 0) {
        std::vector<BatchRequest> reqs;
        std::vector<Live> made;
        for (int n = pick(1, 3); n > 0 && inserted < 12; --n, ++inserted) {
          Live l;
          l.prompt.resize(pick(1, 20));
          for (auto& t : l.prompt) t = pick(1, 95);
          l.max_tokens = pick(1, 10);
          if (pick(0, 2) == 0) {  // its own sampler draws from its own seed
            l.sampler = SamplerOptions{.temp = 0.8f, .top_p = 0.9f};
            l.sampler->seed = static_cast<uint64_t>(pick(1, 1 << 20));
          }
          BatchRequest r{.prompt = l.prompt, .max_tokens = l.max_tokens, .sampler = l.sampler};
          const Live* from = finished_one(seqs, pick(0, 2) == 0);
          if (from != nullptr) {
            l.base = copy_prompt_cache(from->got.back().prompt_cache);
            l.cached_tokens = from->got.back().all_tokens;
            r.cached_tokens = l.cached_tokens;  // r.cache is set once `made` stops moving
          }
          // Pauses change where a rotating cache's chunks end, and so what it keeps.
          if (o.max_kv_size == 0 && l.prompt.size() > 2 && pick(0, 2) == 0) {
            r.segment_ends = {pick(1, static_cast<int>(l.prompt.size()) - 1)};
          }
          reqs.push_back(std::move(r));
          made.push_back(std::move(l));
        }
        for (size_t i = 0; i < made.size(); ++i) {
          if (!made[i].base.empty()) reqs[i].cache = &made[i].base;
        }
        const std::vector<uint64_t> uids = gen.insert(std::move(reqs));
        for (size_t i = 0; i < uids.size(); ++i) seqs[uids[i]] = std::move(made[i]);
      }
      if (pick(0, 9) == 0) {  // remove a sequence still running, at whatever stage it is
        std::vector<uint64_t> running;
        for (const auto& [uid, l] : seqs) {
          const bool finished = !l.got.empty() && !l.got.back().finish_reason.empty();
          if (!l.removed && !finished) running.push_back(uid);
        }
        if (!running.empty()) {
          const uint64_t uid = running[pick(0, static_cast<int>(running.size()) - 1)];
          gen.remove({uid});
          seqs[uid].removed = true;
        }
      }
      if (gen.done()) continue;
      for (auto& r : gen.next().generation) {
        ASSERT_FALSE(seqs.at(r.uid).removed) << "a removed sequence reported a token";
        seqs.at(r.uid).got.push_back(std::move(r));
      }
    }
    ASSERT_TRUE(gen.done()) << "the schedule did not finish in 200 steps";
    for (const auto& [uid, l] : seqs) check(uid, l, o);
  }

  // A finished sequence to continue from (the first one, or null when `want` is false or none
  // has finished).
  static const Live* finished_one(const std::map<uint64_t, Live>& seqs, bool want) {
    if (!want) return nullptr;
    for (const auto& [uid, l] : seqs) {
      if (!l.removed && !l.got.empty() && l.got.back().finish_reason == "length") return &l;
    }
    return nullptr;
  }

  void check(uint64_t uid, const Live& l, const BatchGeneratorOptions& o) {
    SCOPED_TRACE(::testing::Message()
                 << "uid " << uid << ", prompt of " << l.prompt.size() << " after "
                 << l.cached_tokens.size() << " cached, max_tokens " << l.max_tokens
                 << (l.sampler ? ", sampled" : ", greedy"));
    PromptCache cache = l.base.empty() ? fresh_cache(o.max_kv_size) : copy_prompt_cache(l.base);
    GenerateStepOptions step;
    step.prefill_step_size = o.prefill_step_size;  // a rotating cache's content depends on it
    step.max_tokens = l.max_tokens;
    Sampler sampler(l.sampler.value_or(SamplerOptions{}));
    const Single want = testing::sampled_run(*model_, l.prompt, cache, sampler, step);
    ASSERT_LE(l.got.size(), want.tokens.size());
    if (!l.removed) {
      ASSERT_EQ(l.got.size(), want.tokens.size());
    }
    for (size_t t = 0; t < l.got.size(); ++t) {
      const BatchTokenResponse& r = l.got[t];
      ASSERT_EQ(r.token, want.tokens[t]) << "token " << t;
      expect_close(r.logprobs, want.logprobs[t], 1e-4f);
      EXPECT_EQ(r.finish_reason, t + 1 == want.tokens.size() ? "length" : "") << "token " << t;
    }
    if (l.removed) return;
    const BatchTokenResponse& last = l.got.back();
    std::vector<int32_t> held = l.cached_tokens;
    held.insert(held.end(), l.prompt.begin(), l.prompt.end());
    held.insert(held.end(), want.tokens.begin(), want.tokens.end());
    EXPECT_EQ(last.all_tokens, held);
    ASSERT_EQ(last.prompt_cache.size(), cache.size());
    for (size_t layer = 0; layer < cache.size(); ++layer) {
      EXPECT_EQ(last.prompt_cache[layer]->offset(), static_cast<int64_t>(held.size()));
      EXPECT_EQ(last.prompt_cache[layer]->size(), cache[layer]->size());
    }
  }
};

TEST_F(BatchScheduleTest, RandomSchedulesGiveEachSequenceItsSingleRun) {
  for (uint32_t seed = 1; seed <= 24; ++seed) run_schedule(seed);
}

}  // namespace
}  // namespace mlxlm
