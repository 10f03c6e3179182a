// KV buffers of 256 KiB and more live in pages of their own and grow in place (mremap); smaller
// ones live on the heap and grow by copying. Both must keep mlx-lm's growth: capacities in steps
// of 256 (a buffer ending mid-step first cut to its tokens), every token where it was written,
// zeros past them.
#include <gtest/gtest.h>

#include <cstring>

#include "base/error.h"
#include "cache/kv_cache.h"
#include "cache_test_util.h"
#include "tensor/tensor.h"

namespace mlxlm {
namespace {

using testing::uniform;

TEST(OwnPages, LargeBuffersHaveThemAndStartAtZero) {
  Tensor big = Tensor::zeros_own_pages(DType::F32, {4, 128, 128});  // 256 KiB
  EXPECT_TRUE(big.owns_pages());
  for (float v : big.span<float>()) ASSERT_EQ(v, 0.0f);
  Tensor small = Tensor::zeros_own_pages(DType::F32, {4, 128, 127});
  EXPECT_FALSE(small.owns_pages());
  for (float v : small.span<float>()) ASSERT_EQ(v, 0.0f);
  EXPECT_THROW(Tensor::zeros_own_pages(DType::F32, {-1, 4}), Error);
}

TEST(OwnPages, GrowingKeepsTheBytesAndZeroesTheRest) {
  Tensor t = Tensor::zeros_own_pages(DType::F32, {64, 1024});
  const Tensor ref = uniform({64, 1024}, 3);
  std::memcpy(t.data(), ref.data(), ref.nbytes());
  t.grow_own_pages({64, 4096});
  ASSERT_EQ(t.shape(), (Shape{64, 4096}));
  EXPECT_EQ(std::memcmp(t.data(), ref.data(), ref.nbytes()), 0);
  for (int64_t i = ref.numel(); i < t.numel(); ++i) ASSERT_EQ(t.data<float>()[i], 0.0f) << i;
  EXPECT_THROW(t.grow_own_pages({64, 100}), Error);
  Tensor heap(DType::F32, {4});
  EXPECT_THROW(heap.grow_own_pages({8}), Error);
}

// Feeds updates of the given sizes to a KVCache of [1, heads, T, dim] f32 keys and checks after
// each: the capacity mlx-lm's rule gives, the visible keys equal to all updates in order, and
// zeros past them.
void check_growth(int64_t heads, int64_t dim, const std::vector<int64_t>& updates,
                  const std::vector<int64_t>& capacities, bool own_pages) {
  KVCache cache;
  std::vector<Tensor> written;
  int64_t total = 0;
  for (size_t u = 0; u < updates.size(); ++u) {
    Tensor k = uniform({1, heads, updates[u], dim}, static_cast<unsigned>(10 + u));
    Tensor v = uniform({1, heads, updates[u], dim}, static_cast<unsigned>(50 + u));
    cache.update_and_fetch(k, v);
    written.push_back(std::move(k));
    total += updates[u];
    ASSERT_EQ(cache.capacity(), capacities[u]) << "update " << u;
    EXPECT_EQ(cache.keys().owns_pages(), own_pages) << "update " << u;
    const float* buf = cache.keys().data<float>();
    for (int64_t h = 0; h < heads; ++h) {
      int64_t t = 0;
      for (const Tensor& w : written) {
        const int64_t n = w.dim(2);
        ASSERT_EQ(std::memcmp(buf + (h * capacities[u] + t) * dim, w.data<float>() + h * n * dim,
                              n * dim * sizeof(float)),
                  0)
            << "update " << u << " head " << h << " tokens from " << t;
        t += n;
      }
      for (int64_t i = total * dim; i < capacities[u] * dim; ++i) {
        ASSERT_EQ(buf[h * capacities[u] * dim + i], 0.0f) << "update " << u << " head " << h;
      }
    }
  }
}

// 300 -> 512; 400 fits; 600 cuts to 400 then adds a step: 656; 900 cuts to 600 then adds two:
// 1112; 1112 fits exactly; 1113 finds the buffer full (mid-step, so cut to its own length) and
// adds a step: 1368.
const std::vector<int64_t> kMidStep = {300, 100, 200, 300, 212, 1};
const std::vector<int64_t> kMidStepCapacities = {512, 512, 656, 1112, 1112, 1368};
// 256 -> 256; 266 keeps the whole (full) buffer and adds a step: 512.
const std::vector<int64_t> kWholeStep = {256, 10};
const std::vector<int64_t> kWholeStepCapacities = {256, 512};

TEST(KVBufferGrowth, InOwnPages) {
  // 8 heads of 64 f32: 2 KiB a token, so 256 tokens take 512 KiB.
  check_growth(8, 64, kMidStep, kMidStepCapacities, true);
  check_growth(8, 64, kWholeStep, kWholeStepCapacities, true);
}

TEST(KVBufferGrowth, OnTheHeap) {
  // Two heads of 16: 128 B a token, 171 KiB at most.
  check_growth(2, 16, kMidStep, kMidStepCapacities, false);
  check_growth(2, 16, kWholeStep, kWholeStepCapacities, false);
}

}  // namespace
}  // namespace mlxlm
