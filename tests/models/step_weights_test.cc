// step_weights lists the matrices one decoding step reads (the bandwidth floor of `mlxlm bench
// --floor`), and kv_bytes_per_token what each cached token adds; expectations are counted by
// hand from each model's config.
#include <gtest/gtest.h>

#include "models/registry.h"
#include "random_model.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

int64_t total_bytes(const std::vector<kernels::WeightRef>& weights) {
  int64_t bytes = 0;
  for (const auto& w : weights) bytes += kernels::weight_bytes(w);
  return bytes;
}

// tinystories-656k: hidden 128, 8 heads of 16, 4 kv heads, intermediate 384, 2 layers, vocab
// 2048, tied, f32. Per layer q 128x128, k and v 64x128, o 128x128, gate and up 384x128, down
// 128x384: 196608 values; the tied head 2048x128 = 262144.
TEST(StepWeights, TinyStoriesReadsEveryMatrixAndTheTiedHeadOnce) {
  auto model = load_model(testing::tinystories_dir());
  const auto weights = model->step_weights();
  ASSERT_EQ(weights.size(), 2u * 7 + 1);
  EXPECT_EQ(total_bytes(weights), (2 * 196608 + 262144) * 4);
  EXPECT_EQ(weights.front().rows, 128);  // layer 0's q_proj first
  EXPECT_EQ(weights.back().rows, 2048);  // the head last
  // Keys and values of 2 layers x 4 heads x 16 in f32.
  EXPECT_EQ(model->info().kv_bytes_per_token, 2 * 2 * 4 * 16 * 4);
}

// An untied head is read in place of the embedding table, which a step reads one row of.
TEST(StepWeights, UntiedHeadReplacesTheEmbeddingTable) {
  testing::TempDir dir;
  testing::RandomModelSpec spec;  // hidden 64, 4 heads of 16, 2 kv heads, intermediate 96
  spec.tied = false;
  spec.vocab = 160;
  testing::write_random_model(dir.path(), spec);
  auto model = load_model(dir.path());
  const auto weights = model->step_weights();
  ASSERT_EQ(weights.size(), 2u * 7 + 1);
  // Per layer q and o 64x64, k and v 32x64, gate and up 96x64, down 64x96; head 160x64; f32.
  EXPECT_EQ(total_bytes(weights), (2 * (2 * 4096 + 2 * 2048 + 3 * 6144) + 160 * 64) * 4);
  EXPECT_EQ(weights.back().rows, 160);
  EXPECT_EQ(model->info().kv_bytes_per_token, 2 * 2 * 2 * 16 * 4);
}

}  // namespace
}  // namespace mlxlm
