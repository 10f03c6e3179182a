// Norms, activations, softmax, RoPE and attention on every SIMD target against kernels/ref.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/thread_pool.h"
#include "for_each_target.h"
#include "kernels/attention.h"
#include "kernels/ops.h"
#include "kernels/ref/ref.h"
#include "kernels/rope.h"
#include "random_weight.h"
#include "tensor/tensor.h"

namespace mlxlm {
namespace {

void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], tol * (1.0 + std::fabs(want[i]))) << "at " << i;
  }
}

TEST(Ops, RmsNormEveryTarget) {
  for (int64_t dim : {7, 64, 131}) {
    const int64_t rows = 5;
    auto x = testing::random_floats(rows * dim, 3, 2.0f);
    auto w = testing::random_floats(dim, 4);
    std::vector<float> want(rows * dim);
    kernels::ref::rms_norm(x.data(), w.data(), 1e-5f, rows, dim, want.data());
    testing::for_each_simd_target([&] {
      std::vector<float> y(rows * dim);
      kernels::rms_norm(x.data(), w.data(), 1e-5f, rows, dim, y.data());
      expect_near_all(y, want, 1e-5);
      std::vector<float> inplace = x;  // x == y is allowed
      kernels::rms_norm(inplace.data(), w.data(), 1e-5f, rows, dim, inplace.data());
      expect_near_all(inplace, want, 1e-5);
    });
  }
}

TEST(Ops, SiluMulEveryTarget) {
  auto g = testing::random_floats(1003, 5, 6.0f);
  g[0] = -200.0f;  // exp overflow territory
  g[1] = 200.0f;
  auto u = testing::random_floats(1003, 6);
  std::vector<float> want(g.size());
  kernels::ref::silu_mul(g.data(), u.data(), 1003, want.data());
  testing::for_each_simd_target([&] {
    std::vector<float> y(g.size());
    kernels::silu_mul(g.data(), u.data(), 1003, y.data());
    expect_near_all(y, want, 2e-6);
  });
}

TEST(Ops, SoftmaxEveryTarget) {
  auto x = testing::random_floats(3 * 77, 7, 5.0f);
  const float ninf = -std::numeric_limits<float>::infinity();
  x[3] = ninf;
  for (int i = 154; i < 231; ++i) x[i] = ninf;  // fully masked row -> zeros
  std::vector<float> want = x;
  kernels::ref::softmax(want.data(), 3, 77);
  testing::for_each_simd_target([&] {
    std::vector<float> y = x;
    kernels::softmax(y.data(), 3, 77);
    expect_near_all(y, want, 1e-6);
  });
}

// Against a double-precision sum: a vocabulary-sized row (chunks of the f32 sum, a scalar
// tail), -inf entries (masked tokens), and rows that are empty of finite values.
TEST(Ops, LogSumExpEveryTarget) {
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t n : {1, 5, 17, 128259}) {
    auto x = testing::random_floats(n, 11, 12.0f);
    for (int64_t i = 2; i < n; i += 7) x[i] = ninf;
    double mx = ninf;
    for (float v : x) mx = std::max(mx, double{v});
    double s = 0;
    for (float v : x) s += std::exp(double{v} - mx);
    const double want = mx + std::log(s);
    testing::for_each_simd_target([&] {
      EXPECT_NEAR(kernels::logsumexp(x.data(), n), want, 2e-6 * (1 + std::fabs(want))) << n;
    });
  }
  const std::vector<float> masked(40, ninf);
  testing::for_each_simd_target([&] { EXPECT_EQ(kernels::logsumexp(masked.data(), 40), ninf); });
}

// Against std::max_element: ties (the first wins), -0 against +0, -inf rows, NaNs (skipped
// unless first), maxima in the vector part and in the tail, every length up to 70.
TEST(Ops, ArgMaxEveryTarget) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<std::vector<float>> rows;
  for (int n = 0; n <= 70; ++n) {
    auto r = testing::random_floats(n, 100 + n);
    rows.push_back(r);
    if (n >= 3) {
      r[n / 3] = 5.0f;
      r[n - 1] = 5.0f;  // a tie: the first one wins
      rows.push_back(r);
      r[n - 1] = 6.0f;  // the maximum in the tail
      rows.push_back(r);
      r[1] = nan;  // skipped
      rows.push_back(r);
      r[0] = nan;  // a leading NaN is kept
      rows.push_back(r);
    }
    rows.push_back(std::vector<float>(n, -inf));
  }
  rows.push_back({-0.0f, 0.0f, -1.0f});
  rows.push_back({-1.0f, 0.0f, -0.0f});
  testing::for_each_simd_target([&] {
    for (const auto& r : rows) {
      const auto want = std::max_element(r.begin(), r.end()) - r.begin();
      EXPECT_EQ(kernels::argmax(r.data(), static_cast<int64_t>(r.size())), want)
          << "length " << r.size();
    }
  });
}

TEST(Ops, AddInplaceEveryTarget) {
  auto x = testing::random_floats(45, 8), y = testing::random_floats(45, 9);
  std::vector<float> want(45);
  for (int i = 0; i < 45; ++i) want[i] = x[i] + y[i];
  testing::for_each_simd_target([&] {
    auto z = x;
    kernels::add_inplace(z.data(), y.data(), 45);
    expect_near_all(z, want, 0);
  });
}

// Threaded over more ranges than 4 per thread (the pool's guided hand-out of 300 grains gives 2
// threads 10), summing quarters exactly in f32, so that any lost or doubled range shows.
TEST(Ops, SumOfManyRangesEveryTarget) {
  ThreadPool::set_num_threads(2);
  const int64_t n = 300 * (int64_t{1} << 16) + 8;
  const std::vector<float> quarters(static_cast<size_t>(n), 0.25f);
  testing::for_each_simd_target(
      [&] { EXPECT_EQ(kernels::sum(quarters.data(), n), static_cast<float>(n / 4)); });
  ThreadPool::set_num_threads(0);
}

// RoPE over x[positions.size(), heads, hd], rotating `inv.size() * 2` features.
kernels::RopeArgs rope_args(int64_t heads, int64_t hd, const std::vector<float>& inv,
                            const std::vector<int64_t>& positions) {
  kernels::RopeArgs a;
  a.tokens = static_cast<int64_t>(positions.size());
  a.heads = heads;
  a.head_dim = hd;
  a.rot_dim = 2 * static_cast<int64_t>(inv.size());
  a.inv_freq = inv.data();
  a.positions = positions.data();
  return a;
}

TEST(Ops, RopeEveryTarget) {
  for (bool traditional : {false, true}) {
    for (int64_t rot : {64, 32, 20}) {
      const int64_t tokens = 3, heads = 4, hd = 64;
      std::vector<float> inv(rot / 2);
      for (int64_t i = 0; i < rot / 2; ++i) inv[i] = std::pow(10000.0f, -2.0f * i / rot);
      std::vector<int64_t> pos = {0, 17, 4000};
      kernels::RopeArgs a = rope_args(heads, hd, inv, pos);
      a.scale = 1.25f;
      a.traditional = traditional;
      auto x = testing::random_floats(tokens * heads * hd, 10);
      auto want = x;
      kernels::ref::rope(want.data(), a);
      testing::for_each_simd_target([&] {
        auto y = x;
        kernels::rope(y.data(), a);
        expect_near_all(y, want, 2e-6);
      });
    }
  }
}

// kernels::rope keeps the last call's cos/sin table: a call that changes the frequencies (in
// the same buffer), the positions (same count) or the scale must not reuse it.
TEST(Ops, RopeTableFollowsEveryArgument) {
  const int64_t tokens = 2, heads = 2, hd = 16, rot = 16;
  std::vector<float> inv(rot / 2);
  std::vector<int64_t> pos = {3, 9};
  kernels::RopeArgs a = rope_args(heads, hd, inv, pos);
  const auto x = testing::random_floats(tokens * heads * hd, 11);
  auto check = [&](const char* what) {
    auto want = x, y = x;
    kernels::ref::rope(want.data(), a);
    kernels::rope(y.data(), a);
    SCOPED_TRACE(what);
    expect_near_all(y, want, 2e-6);
  };
  for (int64_t i = 0; i < rot / 2; ++i) inv[i] = std::pow(10000.0f, -2.0f * i / rot);
  check("first call");
  check("same arguments");
  inv[1] *= 3.0f;
  check("one frequency changed in place");
  pos[1] = 10;
  check("one position changed");
  a.scale = 0.5f;
  check("scale changed");
}

struct AttnCase {
  int64_t q_len, n_heads, n_kv, hd, kv_len, q_offset, window, kv_start;
  bool mask;
  int64_t vd = 0;  // 0: the same as hd

  int64_t value_dim() const { return vd > 0 ? vd : hd; }

  // The case's arguments over f32 keys and values, with `out` still to be set.
  kernels::AttentionArgs args(const void* k, const void* v, const uint8_t* mask_data) const {
    kernels::AttentionArgs a;
    a.q_len = q_len;
    a.n_heads = n_heads;
    a.head_dim = hd;
    a.k = k;
    a.v = v;
    a.kv_len = kv_len;
    a.n_kv_heads = n_kv;
    a.v_head_dim = value_dim();
    a.k_head_stride = kv_len * hd;
    a.v_head_stride = kv_len * value_dim();
    a.scale = 1.0f / std::sqrt(static_cast<float>(hd));
    a.q_offset = q_offset;
    a.window = window;
    a.kv_start = kv_start;
    a.mask = mask ? mask_data : nullptr;
    return a;
  }
};

// kernels::attention with `a` (its output aside) on every target, against `want`.
void ExpectAttentionOnEveryTarget(const kernels::AttentionArgs& a, const std::vector<float>& want) {
  testing::for_each_simd_target([&] {
    std::vector<float> out(want.size(), NAN);
    auto b = a;
    b.out = out.data();
    kernels::attention(b);
    expect_near_all(out, want, 1e-5);
  });
}

TEST(Attention, EveryTargetCausalWindowMaskGqa) {
  const AttnCase cases[] = {
      {1, 8, 2, 64, 37, 36, 0, 0, false},      // decode
      {5, 4, 4, 32, 12, 7, 0, 0, false},       // prefill continuing a cache
      {6, 6, 3, 16, 6, 0, 3, 0, false},        // sliding window
      {4, 4, 1, 24, 9, 5, 0, 2, false},        // left padding (kv_start)
      {3, 2, 2, 8, 10, 0, 0, 0, true},         // explicit mask, including a fully masked row
      {2, 6, 2, 32, 43, 41, 0, 0, false, 16},  // values narrower than keys, odd key count
      {1, 4, 1, 128, 64, 63, 0, 0, false},     // wide heads
      {1, 6, 3, 64, 21, 20, 0, 0, false},      // two query heads per kv head
      {2, 8, 2, 96, 23, 21, 0, 0, false},      // features past the last whole 64
      // Prefill tiles (q_len >= 4): a partial last tile, a mask, narrower values.
      {9, 4, 2, 64, 30, 21, 0, 0, false},
      {6, 4, 2, 16, 11, 0, 0, 0, true},
      {7, 6, 2, 32, 43, 36, 0, 0, false, 16},
      // Decoding over 256 keys or more with few tasks per thread splits the keys into ranges
      // merged afterwards: three kv heads (SmolLM2), a window and left padding that leave
      // ranges empty, a mask with a fully masked row, several rows, narrower values.
      {1, 9, 3, 64, 600, 599, 0, 0, false},
      {1, 8, 2, 64, 700, 699, 100, 0, false},
      {1, 4, 1, 64, 400, 399, 0, 250, false},
      {2, 4, 2, 32, 300, 0, 0, 0, true},
      {3, 6, 2, 32, 513, 510, 0, 0, false, 16},
  };
  // 1 thread runs decoding's query heads in sets per kv head and never splits the keys; 2
  // threads split them for the long cases; 16 threads, one head per task.
  for (int threads : {1, 2, 16}) {
    ThreadPool::set_num_threads(threads);
    for (const auto& c : cases) {
      const int64_t vd = c.value_dim();
      auto q = testing::random_floats(c.q_len * c.n_heads * c.hd, 11);
      auto k = testing::random_floats(c.n_kv * c.kv_len * c.hd, 12);
      auto v = testing::random_floats(c.n_kv * c.kv_len * vd, 13);
      std::vector<uint8_t> mask(c.q_len * c.kv_len);
      for (size_t i = 0; i < mask.size(); ++i) mask[i] = (i * 7 + 3) % 5 != 0;
      if (c.mask) {
        for (int64_t j = 0; j < c.kv_len; ++j) mask[j] = 0;
      }
      kernels::AttentionArgs a = c.args(k.data(), v.data(), mask.data());
      a.q = q.data();
      std::vector<float> want(c.q_len * c.n_heads * vd);
      a.out = want.data();
      kernels::ref::attention(a);
      ExpectAttentionOnEveryTarget(a, want);
    }
  }
  ThreadPool::set_num_threads(0);
}

// Caches of bf16 and f16 models hold keys and values in that dtype. Expected: the reference on
// f32 copies of the rounded values, which share no conversion code with the kernels.
TEST(Attention, EveryTargetHalfPrecisionKeysAndValues) {
  const AttnCase cases[] = {
      {1, 8, 2, 64, 37, 36, 0, 0, false},    // decode
      {9, 4, 2, 64, 30, 21, 0, 0, false},    // prefill tiles
      {6, 4, 2, 24, 11, 5, 0, 0, false},     // widths that leave scalar tails
      {1, 9, 3, 64, 600, 599, 0, 0, false},  // keys split into ranges (2 threads)
  };
  ThreadPool::set_num_threads(2);
  for (DType dtype : {DType::BF16, DType::F16}) {
    for (const auto& c : cases) {
      SCOPED_TRACE(std::string(dtype_name(dtype)) + " q_len " + std::to_string(c.q_len));
      auto q = testing::random_floats(c.q_len * c.n_heads * c.hd, 21);
      auto k = testing::random_floats(c.n_kv * c.kv_len * c.hd, 22);
      auto v = testing::random_floats(c.n_kv * c.kv_len * c.hd, 23);
      std::vector<uint16_t> k16(k.size()), v16(v.size());
      std::vector<float> k_rounded(k.size()), v_rounded(v.size());
      for (size_t i = 0; i < k.size(); ++i) {
        k16[i] = dtype == DType::BF16 ? f32_to_bf16(k[i]) : f32_to_f16(k[i]);
        k_rounded[i] = dtype == DType::BF16 ? bf16_to_f32(k16[i]) : f16_to_f32(k16[i]);
        v16[i] = dtype == DType::BF16 ? f32_to_bf16(v[i]) : f32_to_f16(v[i]);
        v_rounded[i] = dtype == DType::BF16 ? bf16_to_f32(v16[i]) : f16_to_f32(v16[i]);
      }
      ASSERT_NE(k_rounded, k);  // the rounding is real, so a kernel reading f32 would fail
      kernels::AttentionArgs a = c.args(k_rounded.data(), v_rounded.data(), nullptr);
      a.q = q.data();
      std::vector<float> want(c.q_len * c.n_heads * c.hd);
      a.out = want.data();
      kernels::ref::attention(a);
      a.k = k16.data();
      a.v = v16.data();
      a.kv_dtype = dtype;
      std::vector<float> ref_half(want.size());
      a.out = ref_half.data();
      kernels::ref::attention(a);
      expect_near_all(ref_half, want, 1e-6);
      ExpectAttentionOnEveryTarget(a, want);
    }
  }
  ThreadPool::set_num_threads(0);
}

}  // namespace
}  // namespace mlxlm
