// A long pass goes through the model in slices of positions when every cache splits passes
// exactly. The reference is the same pass fed whole, through caches that say they cannot be
// split: logits, the caches left behind and the next decoding step must agree.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "cache/batch_kv_cache.h"
#include "cache/kv_cache.h"
#include "cache/quantized_kv_cache.h"
#include "cache/rotating_kv_cache.h"
#include "models/registry.h"
#include "random_model.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

// Records the token count of every update the model makes; `splits` says whether it lets the
// model slice a pass.
template <typename Base>
class Recording : public Base {
 public:
  template <typename... Args>
  explicit Recording(bool splits, Args&&... args)
      : Base(std::forward<Args>(args)...), splits_(splits) {}
  bool splits_passes_exactly() const override { return splits_ && Base::splits_passes_exactly(); }
  KVBlock update_and_fetch(const Tensor& keys, const Tensor& values) override {
    updates.push_back(keys.dim(2));
    return Base::update_and_fetch(keys, values);
  }
  std::vector<int64_t> updates;

 private:
  bool splits_;
};

std::vector<int32_t> random_tokens(int64_t n, int vocab, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = static_cast<int32_t>(rng() % static_cast<unsigned>(vocab));
  return t;
}

float max_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float d = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    d = std::max(d, std::abs(a.data<float>()[i] - b.data<float>()[i]));
  }
  return d;
}

template <typename Cache>
const Recording<Cache>& layer(const PromptCache& c, size_t i) {
  return dynamic_cast<const Recording<Cache>&>(*c.at(i));
}

class SlicedPass : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::RandomModelSpec spec;
    spec.hidden = 128;  // head_dim 32: a whole group of the quantized cache
    spec.intermediate = 192;
    testing::write_random_model(dir_.path(), spec);
    model_ = load_model(dir_.path());
  }

  // Feeds `tokens` [batch, length] through caches that split and through caches that don't;
  // returns {sliced, whole} logits and leaves both caches behind.
  template <typename Cache, typename... Args>
  std::pair<Tensor, Tensor> both(const std::vector<int32_t>& tokens, int64_t batch, bool last_only,
                                 PromptCache& sliced, PromptCache& whole, const Args&... args) {
    for (int64_t l = 0; l < model_->info().num_layers; ++l) {
      sliced.push_back(std::make_unique<Recording<Cache>>(true, args...));
      whole.push_back(std::make_unique<Recording<Cache>>(false, args...));
    }
    Tensor a = model_->forward(tokens, batch, sliced, last_only);
    Tensor b = model_->forward(tokens, batch, whole, last_only);
    return {std::move(a), std::move(b)};
  }

  testing::TempDir dir_;
  std::unique_ptr<Model> model_;
};

TEST_F(SlicedPass, PlainCacheGivesEveryLogitAndTheSameCache) {
  const auto tokens = random_tokens(700, 128, 1);
  PromptCache sliced, whole;
  auto [a, b] = both<KVCache>(tokens, 1, /*last_only=*/false, sliced, whole);
  EXPECT_LT(max_diff(a, b), 1e-4f);
  // 700 rows make two slices of 350; the whole pass reaches the cache at once.
  EXPECT_EQ(layer<KVCache>(sliced, 0).updates, (std::vector<int64_t>{350, 350}));
  EXPECT_EQ(layer<KVCache>(whole, 0).updates, (std::vector<int64_t>{700}));
  for (size_t l = 0; l < sliced.size(); ++l) {
    const auto& s = layer<KVCache>(sliced, l);
    const auto& w = layer<KVCache>(whole, l);
    // Reserved once for the whole pass, as the whole update sized it (not 512 + 256 + ...).
    EXPECT_EQ(s.capacity(), w.capacity());
    EXPECT_EQ(s.offset(), 700);
    EXPECT_LT(max_diff(to_f32(s.keys().view()), to_f32(w.keys().view())), 1e-4f) << "layer " << l;
    EXPECT_LT(max_diff(to_f32(s.values().view()), to_f32(w.values().view())), 1e-4f)
        << "layer " << l;
  }
  // The next step reads what the slices left.
  const std::vector<int32_t> next = {9};
  EXPECT_LT(max_diff(model_->forward(next, 1, sliced, true), model_->forward(next, 1, whole, true)),
            1e-4f);
}

TEST_F(SlicedPass, LastLogitsOnlyComeFromTheLastSlice) {
  const auto tokens = random_tokens(1100, 128, 2);
  PromptCache sliced, whole;
  auto [a, b] = both<KVCache>(tokens, 1, /*last_only=*/true, sliced, whole);
  EXPECT_EQ(a.shape(), (Shape{1, 1, 128}));
  EXPECT_LT(max_diff(a, b), 1e-4f);
  EXPECT_EQ(layer<KVCache>(sliced, 1).updates, (std::vector<int64_t>{366, 367, 367}));
}

TEST_F(SlicedPass, QuantizedCacheSplitsToo) {
  const auto tokens = random_tokens(600, 128, 3);
  PromptCache sliced, whole;
  auto [a, b] = both<QuantizedKVCache>(tokens, 1, false, sliced, whole, 32, 8);
  EXPECT_LT(max_diff(a, b), 1e-4f);
  EXPECT_EQ(layer<QuantizedKVCache>(sliced, 0).updates, (std::vector<int64_t>{300, 300}));
  const std::vector<int32_t> next = {4};
  EXPECT_LT(max_diff(model_->forward(next, 1, sliced, true), model_->forward(next, 1, whole, true)),
            1e-4f);
}

TEST_F(SlicedPass, LeftPaddedBatchSlicesByRows) {
  // Two rows of 300 positions (the first left-padded by 40): 600 rows, two slices of 150.
  std::vector<int32_t> tokens = random_tokens(600, 128, 4);
  std::fill_n(tokens.begin(), 40, 0);
  const std::vector<int64_t> pad = {40, 0};
  PromptCache sliced, whole;
  auto [a, b] = both<BatchKVCache>(tokens, 2, false, sliced, whole, pad);
  EXPECT_EQ(a.shape(), (Shape{2, 300, 128}));
  // Padded positions see no key at all; only the real ones are compared.
  float d = 0;
  for (int64_t r = 0; r < 2; ++r) {
    for (int64_t t = pad[r]; t < 300; ++t) {
      for (int64_t v = 0; v < 128; ++v) {
        const int64_t i = (r * 300 + t) * 128 + v;
        d = std::max(d, std::abs(a.data<float>()[i] - b.data<float>()[i]));
      }
    }
  }
  EXPECT_LT(d, 1e-4f);
  EXPECT_EQ(layer<BatchKVCache>(sliced, 0).updates, (std::vector<int64_t>{150, 150}));
  const std::vector<int32_t> next = {9, 33};
  EXPECT_LT(max_diff(model_->forward(next, 2, sliced, true), model_->forward(next, 2, whole, true)),
            1e-4f);
}

TEST_F(SlicedPass, RotatingCacheTakesThePassWhole) {
  // A rotating cache keeps a whole pass visible to its own queries past the window: slicing
  // would change what they see, so the model must not.
  const auto tokens = random_tokens(700, 128, 5);
  PromptCache cache;
  for (int64_t l = 0; l < model_->info().num_layers; ++l) {
    cache.push_back(std::make_unique<Recording<RotatingKVCache>>(true, 256));
  }
  model_->forward(tokens, 1, cache, true);
  EXPECT_EQ(layer<RotatingKVCache>(cache, 0).updates, (std::vector<int64_t>{700}));
}

}  // namespace
}  // namespace mlxlm
