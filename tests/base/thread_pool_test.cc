#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace mlxlm {
namespace {

// Ranges start at multiples of the grain and hold whole multiples of it, but for the last.
void ExpectWholeGrains(int64_t n, int64_t grain, int64_t b, int64_t e) {
  EXPECT_EQ(b % grain, 0) << "range [" << b << ", " << e << ") of " << n << ", grain " << grain;
  if (e != n) {
    EXPECT_EQ((e - b) % grain, 0) << "range [" << b << ", " << e << ") of " << n;
  }
}

TEST(ThreadPool, EveryIndexExactlyOnceOverManyJobs) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int rep = 0; rep < 2000; ++rep) {
      const int64_t n = 1 + rep % 97, grain = 1 + rep % 5;
      std::vector<std::atomic<int>> hits(n);
      pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
        ExpectWholeGrains(n, grain, b, e);
        for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "rep " << rep << " i " << i;
    }
  }
}

// More grains than the pool's 16-bit count: it coarsens them to whole multiples of the grain.
TEST(ThreadPool, ManyGrainsStayWholeMultiples) {
  ThreadPool pool(2);
  for (int64_t grain : {1, 3, 8}) {
    const int64_t n = 300007 * grain;
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
      ExpectWholeGrains(n, grain, b, e);
      for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
    });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "grain " << grain << " i " << i;
  }
}

TEST(ThreadPool, NestedCallsRunSerially) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  pool.parallel_for(8, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      pool.parallel_for(10, 1, [&](int64_t b2, int64_t e2) { total.fetch_add(e2 - b2); });
    }
  });
  EXPECT_EQ(total.load(), 80);
}

TEST(ThreadPool, GlobalPoolResizes) {
  ThreadPool::set_num_threads(3);
  EXPECT_EQ(ThreadPool::global().num_threads(), 3);
  ThreadPool::set_num_threads(0);
  EXPECT_GE(ThreadPool::global().num_threads(), 1);
}

}  // namespace
}  // namespace mlxlm
