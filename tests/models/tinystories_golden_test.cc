// tinystories-656k against an independent float64 reference of the HF Llama forward pass
// (../shared/golden/tinystories-656k/greedy.jsonl).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "io/json.h"
#include "models/registry.h"
#include "testing/goldens.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

int32_t argmax(const float* v, int64_t n) {
  return static_cast<int32_t>(std::max_element(v, v + n) - v);
}

TEST(TinyStoriesGolden, LastLogitsTop10AndGreedyPrefix) {
  auto model = load_model(testing::tinystories_dir());
  const int64_t vocab = model->info().vocab_size;
  auto cases = testing::tinystories_goldens();
  ASSERT_FALSE(cases.empty());
  for (const Json& c : cases) {
    SCOPED_TRACE(c["prompt"].get<std::string>());
    auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
    PromptCache cache = model->make_cache();
    Tensor logits = model->forward(prompt, 1, cache, true);
    const float* l = logits.data<float>();

    std::vector<int32_t> order(vocab);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 10, order.end(),
                      [&](int32_t a, int32_t b) { return l[a] > l[b]; });
    const Json& top = c["last_logits_top10"];
    ASSERT_EQ(top.size(), 10u);
    for (size_t i = 0; i < 10; ++i) {
      EXPECT_EQ(order[i], top[i][0].get<int32_t>()) << "rank " << i;
      EXPECT_NEAR(l[top[i][0].get<int32_t>()], top[i][1].get<float>(), 1e-3) << "rank " << i;
    }

    auto golden = c["greedy_ids_64_ignoring_eos"].get<std::vector<int32_t>>();
    const auto safe = c["safe_prefix_len"].get<size_t>();
    int32_t next = argmax(l, vocab);
    for (size_t step = 0; step < safe; ++step) {
      ASSERT_EQ(next, golden[step]) << "greedy step " << step;
      Tensor s = model->forward(std::span(&next, 1), 1, cache, true);
      next = argmax(s.data<float>(), vocab);
    }
  }
}

}  // namespace
}  // namespace mlxlm
