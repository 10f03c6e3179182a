// mlx-lm test_prompt_cache.py: test_make_mask_with_cache, test_rotating_cache_mask,
// test_window_mask_with_full_kv_cache, test_rotating_cache_updates.
#include "cache/kv_cache.h"
#include "cache/rotating_kv_cache.h"
#include "cache_test_util.h"

namespace mlxlm {
namespace {

using Kind = AttentionMask::Kind;
using testing::mask_row;
using testing::zeros;

// The plain causal mask written out by hand: row i sees j <= offset + i.
std::vector<bool> causal_row(int64_t offset, int64_t i, int64_t kv, int64_t window = 0) {
  std::vector<bool> r;
  for (int64_t j = 0; j < kv; ++j) {
    r.push_back(j <= offset + i && (window == 0 || offset + i - j < window));
  }
  return r;
}

TEST(MakeMask, WithoutCache) {
  EXPECT_EQ(create_attention_mask_without_cache(1, 0, false).kind, Kind::None);
  EXPECT_EQ(create_attention_mask_without_cache(1, 0, true).kind, Kind::None);
  EXPECT_EQ(create_attention_mask_without_cache(4, 0, false).kind, Kind::Causal);
  AttentionMask a = create_attention_mask_without_cache(4, 0, true);
  ASSERT_EQ(a.kind, Kind::Array);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(mask_row(a, 0, i), causal_row(0, i, 4));
  EXPECT_EQ(create_attention_mask_without_cache(4, 4, false).kind, Kind::Causal);
  AttentionMask w = create_attention_mask_without_cache(4, 3, false);
  ASSERT_EQ(w.kind, Kind::Array);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(mask_row(w, 0, i), causal_row(0, i, 4, 3));
}

TEST(MakeMask, LeftAndRightPaddingPerRow) {
  // create_causal_mask(2, offset 1) over 3 keys; row 0 has one left pad, row 1 one right pad.
  const std::vector<int64_t> left = {1, 0}, right = {0, 1};
  AttentionMask m = create_causal_mask(2, 1, 0, &left, &right);
  ASSERT_EQ(m.rows, 2);
  EXPECT_EQ(mask_row(m, 0, 0), (std::vector<bool>{false, true, false}));
  EXPECT_EQ(mask_row(m, 0, 1), (std::vector<bool>{false, true, true}));
  EXPECT_EQ(mask_row(m, 1, 0), (std::vector<bool>{true, true, false}));
  EXPECT_EQ(mask_row(m, 1, 1), (std::vector<bool>{true, true, false}));
}

TEST(MakeMask, WithKVCache) {
  KVCache cache;
  EXPECT_EQ(cache.make_mask(4).kind, Kind::Causal);
  AttentionMask a = cache.make_mask(4, 0, true);
  ASSERT_EQ(a.kind, Kind::Array);
  EXPECT_EQ(a.q_len, 4);
  EXPECT_EQ(a.kv_len, 4);
  Tensor kv = zeros({1, 2, 16, 8});
  cache.update_and_fetch(kv, kv);
  AttentionMask b = cache.make_mask(4, 0, true);
  EXPECT_EQ(b.q_len, 4);
  EXPECT_EQ(b.kv_len, 20);
}

TEST(MakeMask, WindowWithFullKVCache) {
  KVCache c;
  Tensor kv = zeros({1, 1, 32, 128});
  c.update_and_fetch(kv, kv);
  AttentionMask m = c.make_mask(1, 4);
  ASSERT_EQ(m.kind, Kind::Array);
  EXPECT_EQ(m.kv_len, 33);
  EXPECT_EQ(mask_row(m, 0, 0), causal_row(32, 0, 33, 4));
}

TEST(RotatingCacheMask, WindowedMasks) {
  RotatingKVCache cache(8);
  EXPECT_EQ(cache.make_mask(4, 5).kind, Kind::Causal);
  AttentionMask a = cache.make_mask(4, 5, true);
  ASSERT_EQ(a.kind, Kind::Array);
  EXPECT_EQ(a.q_len, 4);
  EXPECT_EQ(a.kv_len, 4);

  AttentionMask six = cache.make_mask(6, 5);
  ASSERT_EQ(six.kind, Kind::Array);
  int64_t max_sum = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = mask_row(six, 0, i);
    max_sum = std::max<int64_t>(max_sum, std::count(r.begin(), r.end(), true));
  }
  EXPECT_EQ(max_sum, 5);
  EXPECT_EQ(cache.make_mask(1, 5).kind, Kind::None);

  Tensor kv = zeros({1, 1, 10, 32});
  cache.update_and_fetch(kv, kv);
  AttentionMask three = cache.make_mask(3, 5);
  ASSERT_EQ(three.kind, Kind::Array);
  EXPECT_EQ(three.q_len, 3);
  EXPECT_EQ(three.kv_len, 10);
  for (int i = 0; i < 3; ++i) {
    auto r = mask_row(three, 0, i);
    EXPECT_EQ(std::count(r.begin(), r.end(), true), 5);
    // Query i sits at buffer position 7 + i and sees the five keys ending there.
    for (int j = 3 + i; j <= 7 + i; ++j) EXPECT_TRUE(r[j]) << i << "," << j;
  }
  EXPECT_EQ(cache.make_mask(1).kind, Kind::None);

  AttentionMask one = cache.make_mask(1, 5);
  ASSERT_EQ(one.kind, Kind::Array);
  EXPECT_EQ(mask_row(one, 0, 0),
            (std::vector<bool>{true, false, false, false, true, true, true, true}));

  Tensor t = zeros({1, 1, 1, 32});
  cache.update_and_fetch(t, t);
  AttentionMask two = cache.make_mask(1, 5);
  EXPECT_EQ(mask_row(two, 0, 0),
            (std::vector<bool>{true, true, false, false, false, true, true, true}));
}

TEST(RotatingCacheUpdates, ConcatReturnsMaxPlusSMinusOne) {
  RotatingKVCache cache(8);
  Tensor k = zeros({1, 1, 10, 1});
  cache.update_and_fetch(k, k);
  for (int i = 0; i < 3; ++i) {
    Tensor t = zeros({1, 1, 1, 1});
    cache.update_and_fetch(t, t);
  }
  Tensor three = zeros({1, 1, 3, 1});
  KVBlock b = cache.update_and_fetch(three, three);
  EXPECT_EQ(b.length, 10);
}

// Token values mark their position, so the buffer order can be checked exactly.
Tensor numbered(int64_t from, int64_t count) {
  Tensor t(DType::F32, {1, 1, count, 1});
  for (int64_t i = 0; i < count; ++i) t.data<float>()[i] = static_cast<float>(from + i);
  return t;
}

std::vector<float> visible(const KVBlock& b) {
  EXPECT_EQ(b.dtype, DType::F32);
  const auto* k = static_cast<const float*>(b.keys);
  return std::vector<float>(k, k + b.length);
}

TEST(RotatingCacheUpdates, KeepAndRotationOrder) {
  // max_size 6, keep 2: tokens 0..7 one at a time, then a 3-token chunk.
  RotatingKVCache cache(6, 2);
  KVBlock b;
  for (int t = 0; t < 8; ++t) {
    Tensor x = numbered(t, 1);
    b = cache.update_and_fetch(x, x);
  }
  // Slots 0-1 keep tokens 0 and 1; tokens 6 and 7 overwrote 2 and 3.
  EXPECT_EQ(visible(b), (std::vector<float>{0, 1, 6, 7, 4, 5}));
  EXPECT_EQ(cache.idx(), 4);
  EXPECT_FALSE(cache.is_trimmable());
  Tensor chunk = numbered(8, 3);
  b = cache.update_and_fetch(chunk, chunk);
  // Temporal order 0 1 4 5 6 7, the oldest non-kept token dropped so that the buffer holds
  // max_size - 1 old tokens plus the 3 new ones.
  EXPECT_EQ(visible(b), (std::vector<float>{0, 1, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(cache.offset(), 11);
  EXPECT_EQ(cache.idx(), 8);
  // The next single token trims back to max_size (keeping the first two) and wraps.
  Tensor one = numbered(11, 1);
  b = cache.update_and_fetch(one, one);
  EXPECT_EQ(visible(b), (std::vector<float>{0, 1, 11, 8, 9, 10}));
}

}  // namespace
}  // namespace mlxlm
