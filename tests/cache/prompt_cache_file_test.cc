// mlx-lm test_prompt_cache.py round trips (test_save_load*, test_save_load_batch_caches), as
// C++: every class saved, loaded, and continued with the same update.
#include <filesystem>

#include "base/error.h"
#include "cache/arrays_cache.h"
#include "cache/batch_kv_cache.h"
#include "cache/batch_rotating_kv_cache.h"
#include "cache/cache_list.h"
#include "cache/chunked_kv_cache.h"
#include "cache/concatenate_kv_cache.h"
#include "cache/kv_cache.h"
#include "cache/prompt_cache_file.h"
#include "cache/quantized_kv_cache.h"
#include "cache/quantized_rotating_kv_cache.h"
#include "cache/rotating_kv_cache.h"
#include "cache_test_util.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

using testing::array_equal;
using testing::block_tensors;
using testing::uniform;

// Every leaf of two state trees is bit-identical.
void expect_same_state(const StateTree& a, const StateTree& b) {
  ASSERT_EQ(a.is_leaf, b.is_leaf);
  if (a.is_leaf) {
    EXPECT_TRUE(array_equal(a.leaf, b.leaf)) << shape_str(a.leaf.shape());
    return;
  }
  ASSERT_EQ(a.items.size(), b.items.size());
  for (size_t i = 0; i < a.items.size(); ++i) expect_same_state(a.items[i], b.items[i]);
}

// Feeds the same update to both caches and expects identical results.
void expect_same_continuation(Cache& a, Cache& b, Shape shape, unsigned seed) {
  auto* ka = dynamic_cast<AttentionCache*>(&a);
  auto* kb = dynamic_cast<AttentionCache*>(&b);
  ASSERT_TRUE(ka != nullptr && kb != nullptr);
  Tensor x = uniform(shape, seed), y = uniform(shape, seed + 1);
  KVBlock ba = ka->update_and_fetch(x, y);
  KVBlock bb = kb->update_and_fetch(x, y);
  EXPECT_EQ(a.offset(), b.offset());
  ASSERT_EQ(ba.length, bb.length);
  if (ba.bits > 0) {
    expect_same_state(a.state(), b.state());
    return;
  }
  auto [k1, v1] = block_tensors(ba);
  auto [k2, v2] = block_tensors(bb);
  EXPECT_TRUE(array_equal(k1, k2));
  EXPECT_TRUE(array_equal(v1, v2));
}

class PromptCacheFile : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::string file_ = dir_.file("prompt_cache.safetensors");
};

TEST_F(PromptCacheFile, KVCacheRoundTripWithMetadata) {
  PromptCache cache;
  for (int i = 0; i < 4; ++i) {
    auto c = std::make_unique<KVCache>();
    Tensor x = uniform({1, 8, 10, 4}, i);
    c->update_and_fetch(x, x);
    cache.push_back(std::move(c));
  }
  save_prompt_cache(file_, cache);
  LoadedPromptCache loaded = load_prompt_cache(file_);
  ASSERT_EQ(loaded.cache.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(loaded.cache[i]->class_name(), "KVCache");
    EXPECT_EQ(loaded.cache[i]->offset(), cache[i]->offset());
    expect_same_state(cache[i]->state(), loaded.cache[i]->state());
  }
  EXPECT_TRUE(loaded.metadata.empty());
  const std::map<std::string, std::string> meta = {{"a", "b"}, {"c", "d"}};
  save_prompt_cache(file_, cache, meta);
  EXPECT_EQ(load_prompt_cache(file_).metadata, meta);
}

TEST_F(PromptCacheFile, RotatingRoundTripAndContinuation) {
  PromptCache cache;
  for (int i = 0; i < 4; ++i) {
    auto c = std::make_unique<RotatingKVCache>(8, 2);
    Tensor x = uniform({1, 8, 10, 4}, i);
    c->update_and_fetch(x, x);
    cache.push_back(std::move(c));
  }
  save_prompt_cache(file_, cache);
  LoadedPromptCache loaded = load_prompt_cache(file_);
  for (size_t i = 0; i < 4; ++i) {
    auto& a = static_cast<RotatingKVCache&>(*cache[i]);
    auto& b = static_cast<RotatingKVCache&>(*loaded.cache[i]);
    EXPECT_EQ(a.offset(), b.offset());
    EXPECT_EQ(a.keep(), b.keep());
    EXPECT_EQ(a.max_size(), b.max_size());
    expect_same_state(a.state(), b.state());
  }
  // Two single-token updates make it rotate; the reloaded cache must continue identically.
  for (int step = 0; step < 2; ++step) {
    for (auto& c : cache) {
      Tensor x = uniform({1, 8, 1, 4}, 100 + step);
      static_cast<RotatingKVCache&>(*c).update_and_fetch(x, x);
    }
  }
  save_prompt_cache(file_, cache);
  loaded = load_prompt_cache(file_);
  for (size_t i = 0; i < 4; ++i) {
    expect_same_continuation(*cache[i], *loaded.cache[i], {1, 8, 1, 4}, 200 + i);
  }
}

PromptCache mixed_caches() {
  PromptCache cache;
  cache.push_back(std::make_unique<ArraysCache>(2));
  cache.push_back(std::make_unique<KVCache>());
  cache.push_back(std::make_unique<RotatingKVCache>(8));
  cache.push_back(std::make_unique<ArraysCache>(2));
  cache.push_back(std::make_unique<ChunkedKVCache>(256));
  unsigned seed = 1;
  for (auto& c : cache) {
    if (auto* a = dynamic_cast<ArraysCache*>(c.get())) {
      (*a)[0] = uniform({4, 4, 4}, seed++);
      (*a)[1] = uniform({4, 4, 4}, seed++);
    } else {
      Tensor x = uniform({4, 4, 7, 4}, seed++), y = uniform({4, 4, 7, 4}, seed++);
      static_cast<AttentionCache&>(*c).update_and_fetch(x, y);
    }
  }
  return cache;
}

void expect_same_mixed(std::vector<Cache*> a, std::vector<Cache*> b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i]->class_name(), b[i]->class_name());
    if (auto* x = dynamic_cast<ArraysCache*>(a[i])) {
      auto* y = static_cast<ArraysCache*>(b[i]);
      EXPECT_TRUE(array_equal((*x)[0], (*y)[0]));
      EXPECT_TRUE(array_equal((*x)[1], (*y)[1]));
    } else {
      expect_same_continuation(*a[i], *b[i], {4, 4, 1, 4}, 50 + i);
    }
  }
}

TEST_F(PromptCacheFile, MixedCacheRoundTrip) {
  PromptCache cache = mixed_caches();
  save_prompt_cache(file_, cache);
  LoadedPromptCache loaded = load_prompt_cache(file_);
  std::vector<Cache*> a, b;
  for (auto& c : cache) a.push_back(c.get());
  for (auto& c : loaded.cache) b.push_back(c.get());
  expect_same_mixed(a, b);
}

TEST_F(PromptCacheFile, CacheListRoundTrip) {
  PromptCache cache;
  cache.push_back(std::make_unique<CacheList>(mixed_caches()));
  save_prompt_cache(file_, cache);
  LoadedPromptCache loaded = load_prompt_cache(file_);
  ASSERT_EQ(loaded.cache.size(), 1u);
  auto& la = static_cast<CacheList&>(*cache[0]);
  auto& lb = static_cast<CacheList&>(*loaded.cache[0]);
  std::vector<Cache*> a, b;
  for (size_t i = 0; i < la.count(); ++i) a.push_back(&la[i]);
  for (size_t i = 0; i < lb.count(); ++i) b.push_back(&lb[i]);
  expect_same_mixed(a, b);
}

TEST_F(PromptCacheFile, LoadedArraysCacheMakesMask) {
  PromptCache cache;
  auto a = std::make_unique<ArraysCache>(2, std::vector<int64_t>{1});
  (*a)[0] = testing::zeros({1, 4, 4});
  (*a)[1] = testing::zeros({1, 4, 4});
  cache.push_back(std::move(a));
  save_prompt_cache(file_, cache);
  LoadedPromptCache loaded = load_prompt_cache(file_);
  auto& l = static_cast<ArraysCache&>(*loaded.cache[0]);
  EXPECT_EQ(l.make_mask(4), (std::vector<uint8_t>{0, 1, 1, 1}));
}

TEST_F(PromptCacheFile, QuantizedRoundTripWithMetadata) {
  PromptCache cache;
  for (int i = 0; i < 4; ++i) {
    auto c = std::make_unique<QuantizedKVCache>(32, 4);
    Tensor x = uniform({1, 8, 10, 32}, i);
    c->update_and_fetch(x, x);
    cache.push_back(std::move(c));
  }
  const std::map<std::string, std::string> meta = {{"a", "b"}, {"c", "d"}};
  save_prompt_cache(file_, cache, meta);
  LoadedPromptCache loaded = load_prompt_cache(file_);
  EXPECT_EQ(loaded.metadata, meta);
  auto& q = static_cast<QuantizedKVCache&>(*loaded.cache[0]);
  EXPECT_EQ(q.bits(), 4);
  EXPECT_EQ(q.group_size(), 32);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(cache[i]->offset(), loaded.cache[i]->offset());
    expect_same_state(cache[i]->state(), loaded.cache[i]->state());
    expect_same_continuation(*cache[i], *loaded.cache[i], {1, 8, 1, 32}, 70 + i);
  }
}

TEST_F(PromptCacheFile, QuantizedRotatingAndConcatenateRoundTrip) {
  PromptCache cache;
  auto r = std::make_unique<RotatingKVCache>(6, 2);
  for (int t = 0; t < 9; ++t) {
    Tensor x = uniform({1, 2, 1, 32}, t);
    r->update_and_fetch(x, x);
  }
  cache.push_back(r->to_quantized(32, 8));
  auto c = std::make_unique<ConcatenateKVCache>();
  Tensor x = uniform({1, 2, 5, 8}, 9);
  c->update_and_fetch(x, x);
  cache.push_back(std::move(c));
  save_prompt_cache(file_, cache);
  LoadedPromptCache loaded = load_prompt_cache(file_);
  EXPECT_EQ(loaded.cache[0]->class_name(), "QuantizedRotatingKVCache");
  EXPECT_EQ(loaded.cache[0]->meta_state(), cache[0]->meta_state());
  expect_same_continuation(*cache[0], *loaded.cache[0], {1, 2, 1, 32}, 90);
  expect_same_continuation(*cache[1], *loaded.cache[1], {1, 2, 3, 8}, 91);
}

TEST_F(PromptCacheFile, BatchCachesKeepLeftPadding) {
  PromptCache cache;
  cache.push_back(std::make_unique<ArraysCache>(2, std::vector<int64_t>{1, 2}));
  cache.push_back(std::make_unique<BatchKVCache>(std::vector<int64_t>{1, 2}));
  cache.push_back(std::make_unique<BatchRotatingKVCache>(10, std::vector<int64_t>{1, 2}));
  unsigned seed = 1;
  for (auto& c : cache) {
    if (auto* a = dynamic_cast<ArraysCache*>(c.get())) {
      (*a)[0] = uniform({2, 4, 4}, seed++);
      (*a)[1] = uniform({2, 4, 4}, seed++);
    } else {
      Tensor x = uniform({2, 4, 7, 4}, seed++), y = uniform({2, 4, 7, 4}, seed++);
      static_cast<AttentionCache&>(*c).update_and_fetch(x, y);
    }
  }
  save_prompt_cache(file_, cache);
  LoadedPromptCache loaded = load_prompt_cache(file_);
  const std::vector<int64_t> lp = {1, 2};
  EXPECT_EQ(*static_cast<ArraysCache&>(*loaded.cache[0]).left_padding(), lp);
  EXPECT_EQ(static_cast<BatchKVCache&>(*loaded.cache[1]).left_padding(), lp);
  EXPECT_EQ(static_cast<BatchRotatingKVCache&>(*loaded.cache[2]).left_padding(), lp);
  EXPECT_EQ(static_cast<BatchKVCache&>(*loaded.cache[1]).offsets(),
            static_cast<BatchKVCache&>(*cache[1]).offsets());
  expect_same_continuation(*cache[1], *loaded.cache[1], {2, 4, 1, 4}, 30);
  expect_same_continuation(*cache[2], *loaded.cache[2], {2, 4, 1, 4}, 31);
}

TEST_F(PromptCacheFile, AppendsSuffixAndStoresModelDtype) {
  PromptCache cache;
  auto c = std::make_unique<KVCache>();
  Tensor x = uniform({1, 2, 3, 4}, 5);
  c->update_and_fetch(x, x);
  cache.push_back(std::move(c));
  const std::string written = save_prompt_cache(dir_.file("plain"), cache, {}, DType::F16);
  EXPECT_EQ(written, dir_.file("plain.safetensors"));
  LoadedPromptCache loaded = load_prompt_cache(written);
  StateTree s = loaded.cache[0]->state();
  // The cache keeps the file's F16 (as a f16 model's cache would hold it), and the values are
  // the F16 rounding of the originals.
  ASSERT_EQ(s.items[0].leaf.dtype(), DType::F16);
  const Tensor back = to_f32(s.items[0].leaf.view());
  for (int64_t i = 0; i < x.numel(); ++i) {
    EXPECT_EQ(back.data<float>()[i], f16_to_f32(f32_to_f16(x.data<float>()[i])));
  }
}

TEST_F(PromptCacheFile, FailedSaveLeavesPreviousFile) {
  PromptCache cache;
  auto c = std::make_unique<KVCache>();
  Tensor x = uniform({1, 2, 3, 4}, 5);
  c->update_and_fetch(x, x);
  cache.push_back(std::move(c));
  save_prompt_cache(file_, cache);
  const auto size = std::filesystem::file_size(file_);
  cache.push_back(std::make_unique<KVCache>());  // empty: mlx-lm cannot save it either
  EXPECT_THROW(save_prompt_cache(file_, cache), InvalidInput);
  EXPECT_EQ(std::filesystem::file_size(file_), size);
  EXPECT_EQ(load_prompt_cache(file_).cache.size(), 1u);
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST_F(PromptCacheFile, RejectsUnstorableMetadataKeys) {
  PromptCache cache;
  auto c = std::make_unique<KVCache>();
  Tensor x = uniform({1, 1, 1, 4}, 5);
  c->update_and_fetch(x, x);
  cache.push_back(std::move(c));
  for (const char* key : {"a.b", "12", ""}) {
    try {
      save_prompt_cache(file_, cache, {{key, "v"}});
      ADD_FAILURE() << key;
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find("cannot be stored"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace mlxlm
