// mlx-lm test_prompt_cache.py: test_batch_kv_cache, test_batch_rotating_kv_cache,
// test_merge_with_empty_caches, test_cache_list (merge/extract), the BatchRotatingKVCache merge
// bound, and extend/prepare with empty batches.
#include "cache/arrays_cache.h"
#include "cache/batch_kv_cache.h"
#include "cache/batch_rotating_kv_cache.h"
#include "cache/cache_factory.h"
#include "cache/cache_list.h"
#include "cache/kv_cache.h"
#include "cache/rotating_kv_cache.h"
#include "cache/token_ops.h"
#include "cache_test_util.h"

namespace mlxlm {
namespace {

using testing::array_equal;
using testing::mask_row;
using testing::uniform;
using testing::zeros;
using B = std::vector<bool>;
using I = std::vector<int64_t>;

TEST(BatchKVCache, UpdateStateFilterMaskExtend) {
  BatchKVCache cache({2, 3, 4});
  Tensor k = zeros({3, 1, 4, 8});
  KVBlock b = cache.update_and_fetch(k, k);
  EXPECT_EQ(b.batch, 3);
  EXPECT_EQ(b.length, 4);
  cache.set_state(cache.state());
  cache.filter({0, 1});
  // Filtering drops the padding column every remaining row shares.
  StateTree s = cache.state();
  EXPECT_EQ(s.items[0].leaf.shape(), (Shape{2, 1, 2, 8}));
  AttentionMask m = cache.make_mask(1);
  EXPECT_EQ(mask_row(m, 0, 0), (B{true, true, true}));
  EXPECT_EQ(mask_row(m, 1, 0), (B{false, true, true}));

  BatchKVCache a({2, 1, 2});
  BatchKVCache other({3, 0});
  Tensor ka = zeros({3, 1, 8, 1}), kb = zeros({2, 1, 4, 1});
  a.update_and_fetch(ka, ka);
  other.update_and_fetch(kb, kb);
  a.extend(other);
  EXPECT_EQ(a.keys().dim(0), 5);
  EXPECT_EQ(a.offsets(), (I{6, 7, 6, 1, 4}));
  EXPECT_EQ(a.left_padding(), (I{2, 1, 2, 7, 4}));
}

TEST(BatchKVCache, RowOffsetsArePerRowPositions) {
  BatchKVCache cache({1, 3, 0});
  EXPECT_EQ(cache.row_offsets(3), (I{-1, -3, 0}));
  Tensor k = zeros({3, 2, 4, 8});
  cache.update_and_fetch(k, k);
  EXPECT_EQ(cache.row_offsets(3), (I{3, 1, 4}));
}

TEST(BatchKVCache, PrepareFinalizeRollsRightPadding) {
  BatchKVCache cache({0, 0});
  BatchPrepare p;
  p.right_padding = I{0, 2};
  cache.prepare(p);
  // Row 1's last two tokens are padding: values mark the token index.
  Tensor k(DType::F32, {2, 1, 4, 1});
  for (int i = 0; i < 8; ++i) k.data<float>()[i] = static_cast<float>(i % 4);
  cache.update_and_fetch(k, k);
  cache.finalize();
  EXPECT_EQ(cache.offsets(), (I{4, 2}));
  EXPECT_EQ(cache.left_padding(), (I{0, 2}));
  // dynamic_roll shifts the whole 256-slot buffer of row 1 right by 2: its real tokens 0 and 1
  // end at _idx, empty slots come first, and the pad tokens move past _idx.
  const float* r1 = cache.keys().data<float>() + cache.keys().dim(2);
  EXPECT_EQ(std::vector<float>(r1, r1 + 6), (std::vector<float>{0, 0, 0, 1, 2, 3}));
  AttentionMask m = cache.make_mask(1);
  EXPECT_EQ(mask_row(m, 1, 0), (B{false, false, true, true, true}));
}

TEST(BatchRotatingKVCache, Masks) {
  {
    BatchRotatingKVCache cache(4, {2, 0});
    AttentionMask m = cache.make_mask(4);
    EXPECT_EQ(mask_row(m, 0, 0), (B{false, false, false, false}));
    EXPECT_EQ(mask_row(m, 1, 0), (B{true, false, false, false}));
    Tensor k = zeros({2, 1, 4, 8});
    cache.update_and_fetch(k, k);
    m = cache.make_mask(4);
    KVBlock b = cache.update_and_fetch(k, k);
    EXPECT_EQ(m.q_len, 4);
    EXPECT_EQ(m.kv_len, b.length);
    EXPECT_EQ(mask_row(m, 0, 0), (B{false, true, true, true, false, false, false}));
  }
  {
    BatchRotatingKVCache cache(4, {2, 0});
    Tensor k = zeros({2, 1, 4, 8});
    cache.update_and_fetch(k, k);
    AttentionMask m = cache.make_mask(1);
    Tensor one = zeros({2, 1, 1, 8});
    KVBlock b = cache.update_and_fetch(one, one);
    EXPECT_EQ(m.q_len, 1);
    EXPECT_EQ(m.kv_len, b.length);
    EXPECT_EQ(mask_row(m, 0, 0), (B{true, false, true, true}));
    EXPECT_EQ(mask_row(m, 1, 0), (B{true, true, true, true}));
  }
  {
    BatchRotatingKVCache cache(4, {2, 0, 3});
    Tensor k = zeros({3, 1, 3, 8});
    cache.update_and_fetch(k, k);
    cache.filter({1});
    EXPECT_EQ(cache.keys().shape(), (Shape{1, 1, 3, 8}));
  }
  {
    BatchRotatingKVCache cache(4, {2, 1});
    BatchRotatingKVCache other(4, {2, 2});
    Tensor k = zeros({2, 1, 5, 8});
    cache.update_and_fetch(k, k);
    other.update_and_fetch(k, k);
    Tensor one = zeros({2, 1, 1, 8});
    cache.update_and_fetch(one, one);
    cache.extend(other);
    EXPECT_EQ(cache.keys().dim(0), 4);
    EXPECT_EQ(cache.offsets().size(), 4u);
  }
  {
    // Prompt -> decode -> prompt.
    BatchRotatingKVCache cache(8, {4});
    Tensor k = zeros({1, 1, 8, 8});
    cache.update_and_fetch(k, k);
    AttentionMask m = cache.make_mask(1);
    EXPECT_EQ(mask_row(m, 0, 0), (B{true, false, false, false, true, true, true, true}));
    Tensor one = zeros({1, 1, 1, 8});
    cache.update_and_fetch(one, one);
    m = cache.make_mask(2);
    EXPECT_EQ(mask_row(m, 0, 0), (B{false, false, false, true, true, true, true, true, false}));
    EXPECT_EQ(mask_row(m, 0, 1), (B{false, false, false, true, true, true, true, true, true}));
  }
}

TEST(BatchRotatingKVCache, MergeIsBoundedByMaxSize) {
  RotatingKVCache cache(70);
  Tensor ones(DType::F32, {1, 8, 128, 64});
  for (auto& v : ones.span<float>()) v = 1.0f;
  cache.update_and_fetch(ones, ones);
  auto merged = BatchRotatingKVCache::merge({&cache});
  EXPECT_EQ(merged->keys().dim(2), 70);
}

TEST(BatchRotatingKVCache, DecodingBeforeFinalizeIsRefused) {
  BatchRotatingKVCache cache(8, {0, 0});
  BatchPrepare p;
  p.lengths = I{3, 2};
  p.right_padding = I{0, 1};
  cache.prepare(p);
  Tensor k = zeros({2, 1, 3, 4});
  cache.update_and_fetch(k, k);
  Tensor one = zeros({2, 1, 1, 4});
  EXPECT_THROW(cache.update_and_fetch(one, one), InvalidInput);
  cache.finalize();
  EXPECT_EQ(cache.offsets(), (I{3, 2}));
  EXPECT_EQ(cache.left_padding(), (I{0, 1}));
  EXPECT_NO_THROW(cache.update_and_fetch(one, one));
}

TEST(MergeWithEmptyCaches, Shapes) {
  ArraysCache a1(2), a2(2);
  a2[0] = zeros({1, 4});
  a2[1] = zeros({1, 4});
  auto am = merge_caches({&a1, &a2});
  EXPECT_EQ(static_cast<ArraysCache&>(*am)[0].shape(), (Shape{2, 4}));
  EXPECT_EQ(static_cast<ArraysCache&>(*am)[1].shape(), (Shape{2, 4}));

  KVCache k1, k2;
  Tensor kv = zeros({1, 4, 4, 4});
  k2.update_and_fetch(kv, kv);
  auto km = merge_caches({&k1, &k2});
  EXPECT_EQ(static_cast<BatchKVCache&>(*km).keys().shape(), (Shape{2, 4, 4, 4}));

  RotatingKVCache r1(4), r2(4);
  r2.update_and_fetch(kv, kv);
  auto rm = merge_caches({&r1, &r2});
  EXPECT_EQ(static_cast<BatchRotatingKVCache&>(*rm).keys().shape(), (Shape{2, 4, 4, 4}));
}

TEST(CacheListBatch, MergeThenExtractGivesOriginals) {
  auto make = [](int tokens, unsigned seed) {
    std::vector<std::unique_ptr<Cache>> children;
    auto arrays = std::make_unique<ArraysCache>(1);
    (*arrays)[0] = uniform({1, 2, 4, 4}, seed);
    children.push_back(std::move(arrays));
    auto kv = std::make_unique<KVCache>();
    Tensor k = uniform({1, 2, tokens, 4}, seed + 1), v = uniform({1, 2, tokens, 4}, seed + 2);
    kv->update_and_fetch(k, v);
    children.push_back(std::move(kv));
    return CacheList(std::move(children));
  };
  CacheList c1 = make(5, 10), c2 = make(7, 20);
  auto merged = merge_caches({&c1, &c2});
  for (int i = 0; i < 2; ++i) {
    const CacheList& src = i == 0 ? c1 : c2;
    auto ex = merged->extract(i);
    auto& list = static_cast<CacheList&>(*ex);
    EXPECT_TRUE(array_equal(static_cast<ArraysCache&>(list[0])[0],
                            static_cast<const ArraysCache&>(src[0])[0]));
    EXPECT_TRUE(array_equal(list[1].state().items[0].leaf, src[1].state().items[0].leaf));
    EXPECT_EQ(list[1].offset(), src[1].offset());
  }
}

TEST(BatchExtend, EmptyAndNonEmptyBatches) {
  for (bool empty_first : {false, true}) {
    BatchKVCache full({1, 0, 2});
    Tensor k = uniform({3, 2, 4, 8}, 1);
    full.update_and_fetch(k, k);
    BatchKVCache empty({0, 0});
    BatchKVCache& a = empty_first ? empty : full;
    BatchKVCache& b = empty_first ? full : empty;
    a.extend(b);
    EXPECT_EQ(a.keys().dim(0), 5);
    EXPECT_EQ(a.offsets().size(), 5u);
    EXPECT_EQ(a.left_padding().size(), 5u);
  }
  BatchRotatingKVCache r({8}, {0, 0, 0});
  BatchPrepare p;
  p.lengths = I{4, 3, 2};
  p.right_padding = I{0, 1, 2};
  r.prepare(p);
  Tensor k = uniform({3, 2, 4, 8}, 2);
  EXPECT_NO_THROW(r.update_and_fetch(k, k));
}

TEST(ArraysCacheBatch, ExtendWithEmptyZeroFillsAndMasks) {
  ArraysCache filled(2, {1, 2});
  filled[0] = uniform({2, 3}, 1);
  filled[1] = uniform({2, 5}, 2);
  ArraysCache empty(2, {0, 0});
  filled.extend(empty);
  EXPECT_EQ(filled[0].shape(), (Shape{4, 3}));
  EXPECT_EQ(filled[1].shape(), (Shape{4, 5}));
  for (int j = 6; j < 12; ++j) EXPECT_EQ(filled[0].data<float>()[j], 0.0f);
  std::vector<uint8_t> m = filled.make_mask(10);
  ASSERT_EQ(m.size(), 40u);
  // Row 1 has two padding slots, row 3 none.
  EXPECT_EQ(m[10], 0);
  EXPECT_EQ(m[11], 0);
  EXPECT_EQ(m[12], 1);
  EXPECT_EQ(m[30], 1);
  filled.advance(1);
  EXPECT_EQ(*filled.left_padding(), (I{0, 1, -1, -1}));
}

TEST(DynamicRoll, PerRowShifts) {
  Tensor x(DType::F32, {2, 1, 4, 1});
  for (int i = 0; i < 8; ++i) x.data<float>()[i] = static_cast<float>(i);
  Tensor y = dynamic_roll(x, {1, -1});
  EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + 8),
            (std::vector<float>{3, 0, 1, 2, 5, 6, 7, 4}));
}

}  // namespace
}  // namespace mlxlm
