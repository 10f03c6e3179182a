// Caches of bfloat16/float16 keys (a half-precision model's cache): they keep the dtype they
// were first given, convert writes of another float dtype, and quantize from the exact values.
#include <gtest/gtest.h>

#include "cache/batch_kv_cache.h"
#include "cache/kv_cache.h"
#include "cache/quantized_kv_cache.h"
#include "cache/rotating_kv_cache.h"
#include "cache_test_util.h"

namespace mlxlm {
namespace {

using testing::block_tensors;
using testing::uniform;

// x rounded to bfloat16 by hand: the upper half of the f32 bits, rounded to nearest even.
uint16_t bf16_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return static_cast<uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

Tensor to_bf16(const Tensor& x) {
  Tensor out(DType::BF16, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) out.data<uint16_t>()[i] = bf16_bits(x.data<float>()[i]);
  return out;
}

TEST(HalfPrecisionCache, KVCacheKeepsBf16AndItsBits) {
  const Tensor k = to_bf16(uniform({1, 2, 5, 8}, 1)), v = to_bf16(uniform({1, 2, 5, 8}, 2));
  KVCache c;
  KVBlock b = c.update_and_fetch(k, v);
  EXPECT_EQ(b.dtype, DType::BF16);
  auto [bk, bv] = block_tensors(b);
  EXPECT_TRUE(testing::array_equal(bk, k));
  EXPECT_TRUE(testing::array_equal(bv, v));
  EXPECT_EQ(c.nbytes(), 2u * 2 * 2 * KVCache::kStep * 8);  // two bytes a value
  StateTree s = c.state();
  EXPECT_EQ(s.items[0].leaf.dtype(), DType::BF16);
  KVCache loaded;
  loaded.set_state(std::move(s));  // a prompt-cache file of a bf16 model stays bf16
  EXPECT_EQ(loaded.update_and_fetch(k, v).dtype, DType::BF16);
}

TEST(HalfPrecisionCache, F32CacheConvertsBf16Writes) {
  // A cache loaded as f32 keeps f32 when a bf16 model appends: the new values are widened.
  const Tensor k0 = uniform({1, 1, 3, 4}, 3), k1 = to_bf16(uniform({1, 1, 2, 4}, 4));
  KVCache c;
  c.update_and_fetch(k0, k0);
  KVBlock b = c.update_and_fetch(k1, k1);
  ASSERT_EQ(b.dtype, DType::F32);
  ASSERT_EQ(b.length, 5);
  const auto* keys = static_cast<const float*>(b.keys);
  for (int64_t i = 0; i < 8; ++i) {
    uint32_t widened = uint32_t{k1.data<uint16_t>()[i]} << 16;
    float want;
    std::memcpy(&want, &widened, 4);
    EXPECT_EQ(keys[12 + i], want);
  }
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(keys[i], k0.data<float>()[i]);
}

TEST(HalfPrecisionCache, RotatingAndBatchCachesKeepBf16) {
  const Tensor k = to_bf16(uniform({1, 2, 6, 8}, 5));
  RotatingKVCache r(4, 0);
  KVBlock rb = r.update_and_fetch(k, k);
  EXPECT_EQ(rb.dtype, DType::BF16);
  KVCache a, b;
  a.update_and_fetch(k, k);
  b.update_and_fetch(to_bf16(uniform({1, 2, 3, 8}, 6)), to_bf16(uniform({1, 2, 3, 8}, 7)));
  auto merged = BatchKVCache::merge({&a, &b});
  EXPECT_EQ(merged->state().items[0].leaf.dtype(), DType::BF16);
}

TEST(HalfPrecisionCache, QuantizedCacheQuantizesTheExactValues) {
  const Tensor k = to_bf16(uniform({1, 2, 4, 32}, 8));
  const Tensor wide = to_f32(k.view());
  QuantizedKVCache from_half(32, 8), from_f32(32, 8);
  from_half.update_and_fetch(k, k);
  from_f32.update_and_fetch(wide, wide);
  StateTree a = from_half.state(), b = from_f32.state();
  ASSERT_EQ(a.items.size(), 2u);  // [keys, values], each [codes, scales, biases]
  ASSERT_EQ(b.items.size(), 2u);
  for (size_t i = 0; i < a.items.size(); ++i) {
    ASSERT_EQ(a.items[i].items.size(), 3u);
    for (size_t j = 0; j < a.items[i].items.size(); ++j) {
      EXPECT_TRUE(testing::array_equal(a.items[i].items[j].leaf, b.items[i].items[j].leaf));
    }
  }
}

}  // namespace
}  // namespace mlxlm
