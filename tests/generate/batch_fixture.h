#pragma once
// The batch generator tests' fixture: a random tiny model, four prompts, and greedy
// single-sequence generation (TokenGenerator) as the reference every batched result is held to.
#include <gtest/gtest.h>

#include <map>

#include "cache/rotating_kv_cache.h"
#include "greedy_run.h"
#include "mlxlm/batch.h"
#include "models/registry.h"
#include "random_model.h"
#include "testing/shared_data.h"

namespace mlxlm::testing {

class BatchGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::RandomModelSpec spec;
    spec.vocab = 96;
    testing::write_random_model(dir_.path(), spec);
    model_ = load_model(dir_.path());
  }

  using Single = testing::Generated;
  // A fresh cache for one sequence: the model's own, or with max_kv > 0 what the batch generator
  // uses, RotatingKVCache(max_kv, keep=0).
  PromptCache fresh_cache(int64_t max_kv) const {
    PromptCache cache = model_->make_cache();
    if (max_kv > 0) {
      for (auto& c : cache) c = std::make_unique<RotatingKVCache>(max_kv, 0);
    }
    return cache;
  }

  // Greedy single-sequence generation with a plain (or rotating) cache.
  Single single(const std::vector<int32_t>& prompt, int n, int64_t max_kv = 0,
                PromptCache* cache = nullptr) {
    PromptCache own = fresh_cache(max_kv);
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

inline std::map<uint64_t, std::vector<BatchTokenResponse>> run_all(BatchGenerator& gen) {
  std::map<uint64_t, std::vector<BatchTokenResponse>> out;
  while (!gen.done()) {
    for (auto& r : gen.next_generated()) out[r.uid].push_back(std::move(r));
  }
  return out;
}

}  // namespace mlxlm::testing
