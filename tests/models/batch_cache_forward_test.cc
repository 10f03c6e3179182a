// Left-padded batches through the model: with BatchKVCache / BatchRotatingKVCache every row
// gets its own RoPE positions and padding mask, so each row's logits equal those of the row run
// alone (the attention block takes masks and per-row offsets from the cache).
#include <gtest/gtest.h>

#include <cmath>

#include "cache/batch_kv_cache.h"
#include "cache/batch_rotating_kv_cache.h"
#include "cache/kv_cache.h"
#include "models/registry.h"
#include "random_model.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

std::vector<float> last_logits(const Model& m, const std::vector<int32_t>& ids, PromptCache& c) {
  Tensor t = m.forward(ids, 1, c, true);
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

template <typename MakeBatchCache>
void check_batch(MakeBatchCache make) {
  testing::TempDir dir;
  testing::write_random_model(dir.path(), {});
  auto model = load_model(dir.path());
  const int64_t vocab = model->info().vocab_size;
  const std::vector<int32_t> a = {5, 17, 3, 99, 42}, b = {7, 64, 1, 100, 23, 8, 11, 2};
  const std::vector<int64_t> pad = {3, 0};

  PromptCache ca = model->make_cache(), cb = model->make_cache();
  std::vector<float> la = last_logits(*model, a, ca), lb = last_logits(*model, b, cb);

  PromptCache batch;
  for (int64_t l = 0; l < model->info().num_layers; ++l) batch.push_back(make(pad));
  std::vector<int32_t> tokens = {0, 0, 0};
  tokens.insert(tokens.end(), a.begin(), a.end());
  tokens.insert(tokens.end(), b.begin(), b.end());
  Tensor out = model->forward(tokens, 2, batch, true);
  for (int64_t v = 0; v < vocab; ++v) {
    ASSERT_NEAR(out.data<float>()[v], la[v], 1e-4) << v;
    ASSERT_NEAR(out.data<float>()[vocab + v], lb[v], 1e-4) << v;
  }
  // One decode step per row.
  const std::vector<int32_t> next = {9, 33};
  std::vector<float> da = last_logits(*model, {next[0]}, ca), db = last_logits(*model, {next[1]}, cb);
  Tensor step = model->forward(next, 2, batch, true);
  for (int64_t v = 0; v < vocab; ++v) {
    ASSERT_NEAR(step.data<float>()[v], da[v], 1e-4) << v;
    ASSERT_NEAR(step.data<float>()[vocab + v], db[v], 1e-4) << v;
  }
}

TEST(BatchCacheForward, LeftPaddedBatchKVCacheMatchesSingleRows) {
  check_batch([](std::vector<int64_t> pad) { return std::make_unique<BatchKVCache>(pad); });
}

TEST(BatchCacheForward, LeftPaddedBatchRotatingMatchesSingleRowsWhileItFits) {
  check_batch(
      [](std::vector<int64_t> pad) { return std::make_unique<BatchRotatingKVCache>(64, pad); });
}

}  // namespace
}  // namespace mlxlm
