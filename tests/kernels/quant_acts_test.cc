// Activation quantization on every SIMD target against a direct per-value computation: int8
// codes rounded half to even, one scale per 32 values, codes placed in the weight's code order.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/thread_pool.h"
#include "for_each_target.h"
#include "kernels/quant_acts.h"

namespace mlxlm {
namespace {

using kernels::CodeOrder;
using kernels::kActBlock;

void check(CodeOrder order, int64_t m, int64_t k, int64_t group, const std::vector<float>& x) {
  kernels::ActQuantizer quantizer;
  const kernels::QuantizedActs a = quantizer.quantize(x.data(), m, k, order, group);
  const int64_t blocks = k / kActBlock;
  for (int64_t i = 0; i < m; ++i) {
    std::vector<double> group_sum(k / group, 0.0);
    for (int64_t b = 0; b < blocks; ++b) {
      const float* xb = x.data() + i * k + b * kActBlock;
      float amax = 0.0f;
      for (int j = 0; j < kActBlock; ++j) amax = std::max(amax, std::fabs(xb[j]));
      const float d = amax / 127.0f;
      ASSERT_EQ(a.scale[i * blocks + b], d) << "row " << i << " block " << b;
      for (int p = 0; p < kActBlock; ++p) {
        const int j = kernels::code_order_index(order, p);
        const float want = d > 0.0f ? std::nearbyint(xb[j] * (1.0f / d)) : 0.0f;
        const int8_t got = a.q[i * k + kernels::act_offset(order, blocks, b, p)];
        ASSERT_EQ(got, static_cast<int8_t>(want)) << "row " << i << " block " << b << " pos " << p;
        group_sum[b * kActBlock / group] += double{d} * want;
      }
    }
    for (size_t g = 0; g < group_sum.size(); ++g) {
      ASSERT_NEAR(a.group_sum[i * (k / group) + g], group_sum[g],
                  1e-5 * (1 + std::fabs(group_sum[g])));
      for (int t = 0; t < 2; ++t) {
        ASSERT_EQ(a.group_sum_pairs[2 * (i * (k / group) + g) + t],
                  a.group_sum[i * (k / group) + g]);
      }
    }
  }
}

TEST(ActQuantizer, EveryOrderAndTargetMatchesDirectRounding) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (const int64_t k : {96, 256}) {  // 96: three blocks, the last one unpaired
    const int64_t m = 5;
    std::vector<float> x(m * k);
    for (auto& v : x) v = dist(rng);
    // Row 1 holds exact ties: with amax 127 the scale is 1, so 2.5 -> 2, 3.5 -> 4, -2.5 -> -2.
    for (int64_t j = 0; j < k; ++j) x[k + j] = static_cast<float>(j % 9) - 4.0f + 0.5f;
    for (int64_t b = 0; b < k / kActBlock; ++b) x[k + b * kActBlock] = 127.0f;
    // Row 2 is all zeros: scale 0, codes 0.
    for (int64_t j = 0; j < k; ++j) x[2 * k + j] = 0.0f;
    for (const CodeOrder order : {CodeOrder::Natural, CodeOrder::Nibbles, CodeOrder::Crumbs}) {
      for (const int64_t group : {int64_t{32}, int64_t{k == 96 ? 96 : 64}}) {
        testing::for_each_simd_target([&] { check(order, m, k, group, x); });
      }
    }
  }
}

// Enough rows that the thread pool splits them between threads.
TEST(ActQuantizer, RowsSplitAcrossThreadsMatchDirectRounding) {
  ThreadPool::set_num_threads(3);
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  const int64_t m = 97, k = 1024;
  std::vector<float> x(m * k);
  for (auto& v : x) v = dist(rng);
  check(CodeOrder::Nibbles, m, k, 64, x);
  check(CodeOrder::Natural, m, k, 128, x);
  ThreadPool::set_num_threads(0);
}

}  // namespace
}  // namespace mlxlm
