// mlx-lm test_prompt_cache.py: test_trim_cache, test_cache_copying, test_cache_list (trim part).
#include "base/error.h"
#include "cache/arrays_cache.h"
#include "cache/cache_list.h"
#include "cache/kv_cache.h"
#include "cache/quantized_kv_cache.h"
#include "cache/rotating_kv_cache.h"
#include "cache_test_util.h"

namespace mlxlm {
namespace {

using testing::uniform;
using testing::zeros;

TEST(TrimCache, KVCacheCounts) {
  PromptCache cache;
  for (int i = 0; i < 2; ++i) {
    cache.push_back(std::make_unique<KVCache>());
    Tensor x = uniform({1, 8, 10, 4}, i);
    static_cast<KVCache&>(*cache.back()).update_and_fetch(x, x);
  }
  EXPECT_EQ(trim_prompt_cache(cache, 7), 7);
  EXPECT_EQ(trim_prompt_cache(cache, 4), 3);
}

TEST(TrimCache, ArraysCacheCannotTrim) {
  PromptCache cache;
  for (int i = 0; i < 2; ++i) {
    auto c = std::make_unique<ArraysCache>(2);
    (*c)[0] = zeros({5, 5});
    (*c)[1] = zeros({5, 5});
    cache.push_back(std::move(c));
  }
  EXPECT_EQ(trim_prompt_cache(cache, 7), 0);
}

TEST(TrimCache, AllLayersMustBeTrimmable) {
  PromptCache cache;
  auto a = std::make_unique<ArraysCache>(2);
  (*a)[0] = zeros({5, 5});
  (*a)[1] = zeros({5, 5});
  cache.push_back(std::move(a));
  auto kv = std::make_unique<KVCache>();
  Tensor x = uniform({1, 8, 10, 4}, 3);
  kv->update_and_fetch(x, x);
  cache.push_back(std::move(kv));
  EXPECT_EQ(trim_prompt_cache(cache, 1), 0);
  EXPECT_EQ(cache[1]->offset(), 10);
}

TEST(TrimCache, RotatingTrimmableUntilFull) {
  PromptCache cache;
  for (int i = 0; i < 2; ++i) {
    auto c = std::make_unique<RotatingKVCache>(6);
    Tensor x = uniform({1, 8, 5, 4}, i);
    c->update_and_fetch(x, x);
    cache.push_back(std::move(c));
  }
  EXPECT_EQ(trim_prompt_cache(cache, 4), 4);
  // Past max_kv_size tokens a rotating cache can no longer be trimmed.
  for (auto& c : cache) {
    Tensor x = uniform({1, 8, 10, 4}, 9);
    static_cast<RotatingKVCache&>(*c).update_and_fetch(x, x);
  }
  EXPECT_EQ(trim_prompt_cache(cache, 4), 0);
}

TEST(TrimCache, QuantizedCounts) {
  PromptCache cache;
  for (int i = 0; i < 2; ++i) {
    auto c = std::make_unique<QuantizedKVCache>();
    Tensor x = uniform({1, 8, 10, 64}, i);
    c->update_and_fetch(x, x);
    cache.push_back(std::move(c));
  }
  EXPECT_EQ(trim_prompt_cache(cache, 7), 7);
  EXPECT_EQ(trim_prompt_cache(cache, 4), 3);
}

TEST(PromptCacheStats, LengthAndBytes) {
  PromptCache cache;
  cache.push_back(std::make_unique<ArraysCache>(1));
  static_cast<ArraysCache&>(*cache[0])[0] = zeros({1, 3});
  cache.push_back(std::make_unique<KVCache>());
  Tensor x = uniform({1, 2, 10, 4}, 1);
  static_cast<KVCache&>(*cache[1]).update_and_fetch(x, x);
  EXPECT_EQ(prompt_cache_length(cache), 10);
  // mlx-lm counts whole buffers: 256 slots x 2 heads x 4 dims x 4 bytes, keys and values, plus
  // the 3 floats of the state slot.
  EXPECT_EQ(prompt_cache_nbytes(cache), 2u * 256 * 2 * 4 * 4 + 3 * 4);
}

TEST(TrimCache, EmptyListTrimsNothing) {
  PromptCache cache;
  EXPECT_EQ(trim_prompt_cache(cache, 3), 0);
  EXPECT_TRUE(can_trim_prompt_cache(cache));
}

TEST(CacheCopying, DeepCopyIsIndependent) {
  PromptCache cache;
  cache.push_back(std::make_unique<KVCache>());
  auto& kv = static_cast<KVCache&>(*cache[0]);
  Tensor x = uniform({1, 8, 10, 4}, 1);
  kv.update_and_fetch(x, x);
  Tensor y = uniform({1, 8, 1, 4}, 2);
  kv.update_and_fetch(y, y);
  PromptCache old = copy_prompt_cache(cache);
  trim_prompt_cache(cache, 1);
  EXPECT_EQ(old[0]->offset(), 11);
  EXPECT_EQ(cache[0]->offset(), 10);
  Tensor z = uniform({1, 8, 1, 4}, 3);
  kv.update_and_fetch(z, z);
  const auto& old_kv = static_cast<KVCache&>(*old[0]);
  // Token 10 of head h: y in the copy, z in the original.
  for (int64_t h = 0; h < 8; ++h) {
    for (int64_t d = 0; d < 4; ++d) {
      const int64_t at = (h * old_kv.capacity() + 10) * 4 + d;
      EXPECT_EQ(old_kv.keys().data<float>()[at], y.data<float>()[h * 4 + d]);
      EXPECT_EQ(kv.keys().data<float>()[(h * kv.capacity() + 10) * 4 + d],
                z.data<float>()[h * 4 + d]);
    }
  }
}

TEST(CacheListTrim, TrimmableIffChildrenAre) {
  std::vector<std::unique_ptr<Cache>> children;
  children.push_back(std::make_unique<KVCache>());
  children.push_back(std::make_unique<KVCache>());
  CacheList c(std::move(children));
  EXPECT_TRUE(c.is_trimmable());
  Tensor k = zeros({1, 2, 8, 8});
  static_cast<KVCache&>(c[0]).update_and_fetch(k, k);
  static_cast<KVCache&>(c[1]).update_and_fetch(k, k);
  EXPECT_EQ(c.trim(5), 5);

  std::vector<std::unique_ptr<Cache>> mixed;
  mixed.push_back(std::make_unique<ArraysCache>(2));
  mixed.push_back(std::make_unique<KVCache>());
  EXPECT_FALSE(CacheList(std::move(mixed)).is_trimmable());
}

}  // namespace
}  // namespace mlxlm
