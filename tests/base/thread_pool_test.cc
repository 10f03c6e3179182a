#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

namespace mlxlm {
namespace {

// Ranges start at multiples of the grain and hold whole multiples of it, but for the last.
void ExpectWholeGrains(int64_t n, int64_t grain, int64_t b, int64_t e) {
  EXPECT_EQ(b % grain, 0) << "range [" << b << ", " << e << ") of " << n << ", grain " << grain;
  if (e != n) {
    EXPECT_EQ((e - b) % grain, 0) << "range [" << b << ", " << e << ") of " << n;
  }
}

// Both kinds of loop: guided hand-out (parallel_for) and shares (parallel_for_streams).
TEST(ThreadPool, EveryIndexExactlyOnceOverManyJobs) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int rep = 0; rep < 4000; ++rep) {
      const int64_t n = 1 + rep % 97, grain = 1 + rep % 5;
      std::vector<std::atomic<int>> hits(n);
      auto count = [&](int64_t b, int64_t e) {
        ExpectWholeGrains(n, grain, b, e);
        for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
      };
      if (rep % 2 == 0) {
        pool.parallel_for(n, grain, count);
      } else {
        pool.parallel_for_streams(n, grain, count);
      }
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

// No range holds more than half a thread's share of the loop, so that a thread on a slower core
// cannot claim half of it first and keep the others waiting (the guided ranges shrink from
// there). A loop of as many grains as threads still gets one range per thread.
TEST(ThreadPool, NoRangeExceedsHalfAThreadsShare) {
  for (int threads : {2, 3}) {
    ThreadPool pool(threads);
    for (int64_t grains : {int64_t{2}, int64_t{3}, int64_t{64}, int64_t{1000}}) {
      const int64_t cap = std::max<int64_t>(1, (grains + 2 * threads - 1) / (2 * threads));
      std::atomic<int64_t> largest{0}, ranges{0};
      pool.parallel_for(grains * 4, 4, [&](int64_t b, int64_t e) {
        int64_t seen = largest.load();
        while (e - b > seen && !largest.compare_exchange_weak(seen, e - b)) {
        }
        ranges.fetch_add(1);
      });
      EXPECT_LE(largest.load(), cap * 4) << threads << " threads, " << grains << " grains";
      if (grains <= threads) {
        EXPECT_EQ(ranges.load(), grains);
      }
    }
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

// Waits (up to 10 s) until `flag` is set; whether it was.
bool WaitFor(const std::atomic<bool>& flag) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!flag.load() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  return flag.load();
}

// A range that throws on a worker thread: the exception reaches the caller (instead of ending the
// process), after every other range has run, and the pool goes on working in parallel.
TEST(ThreadPool, AThrowOnAWorkerReachesTheCaller) {
  ThreadPool pool(2);
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> worker_in{false}, thrown{false};
  std::atomic<int> ran{0};
  auto job = [&](bool throw_on_worker) {
    return [&, throw_on_worker](int64_t b, int64_t e) {
      if (std::this_thread::get_id() != caller) {
        worker_in = true;
        // The worker's first range only: it may take more.
        if (throw_on_worker && !thrown.exchange(true)) throw std::runtime_error("range failed");
      } else {
        WaitFor(worker_in);  // so that the worker takes a range of its own
      }
      ran.fetch_add(static_cast<int>(e - b));
    };
  };
  try {
    pool.parallel_for(4, 1, job(true));
    FAIL() << "the worker's exception did not come through";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "range failed");
  }
  EXPECT_EQ(ran.load(), 3) << "every range but the failed one ran";
  worker_in = false;
  ran = 0;
  pool.parallel_for(4, 1, job(false));
  EXPECT_TRUE(worker_in.load()) << "the next loop ran on the caller alone";
  EXPECT_EQ(ran.load(), 4);
}

// A range that throws on the calling thread: parallel_for waits for the ranges the workers
// claimed before the exception leaves it (they may use the caller's data).
TEST(ThreadPool, AThrowOnTheCallerWaitsForTheWorkers) {
  ThreadPool pool(2);
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> worker_in{false}, worker_done{false};
  EXPECT_THROW(pool.parallel_for(2, 1,
                                 [&](int64_t, int64_t) {
                                   if (std::this_thread::get_id() == caller) {
                                     WaitFor(worker_in);
                                     throw std::runtime_error("caller's range failed");
                                   }
                                   worker_in = true;
                                   std::this_thread::sleep_for(std::chrono::milliseconds(50));
                                   worker_done = true;
                                 }),
               std::runtime_error);
  EXPECT_TRUE(worker_in.load());
  EXPECT_TRUE(worker_done.load()) << "parallel_for returned while a worker still ran its range";
}

// Each thread runs its own half front to back; held up in its first grain, the caller's half is
// taken from its back by the worker (which would otherwise wait for it), and the caller then
// goes on from its front with what is left.
TEST(ThreadPool, StreamsTakeASlowThreadsShareFromItsBack) {
  ThreadPool pool(2);
  const auto caller = std::this_thread::get_id();
  std::vector<int64_t> by_caller, by_worker;  // each written by its own thread only
  std::atomic<bool> stolen{false};
  pool.parallel_for_streams(16, 1, [&](int64_t b, int64_t e) {
    ASSERT_EQ(e, b + 1);
    if (std::this_thread::get_id() == caller) {
      if (by_caller.empty()) WaitFor(stolen);
      by_caller.push_back(b);
    } else {
      by_worker.push_back(b);
      if (b < 8) stolen = true;
    }
  });
  ASSERT_TRUE(stolen.load()) << "the worker never took a grain of the caller's half";
  ASSERT_GE(by_worker.size(), 9u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(by_worker[i], static_cast<int64_t>(8 + i));
  for (size_t i = 8; i < by_worker.size(); ++i) {
    EXPECT_EQ(by_worker[i], static_cast<int64_t>(15 - i)) << "stolen from the back, in order";
  }
  for (size_t i = 0; i < by_caller.size(); ++i) EXPECT_EQ(by_caller[i], static_cast<int64_t>(i));
  EXPECT_EQ(by_caller.size() + by_worker.size(), 16u);
}

// A range that throws in a streams loop reaches the caller too, after every other range ran.
TEST(ThreadPool, AThrowInAStreamsLoopReachesTheCaller) {
  ThreadPool pool(2);
  std::atomic<int> ran{0};
  try {
    pool.parallel_for_streams(16, 1, [&](int64_t b, int64_t e) {
      if (b == 12) throw std::runtime_error("range failed");
      ran.fetch_add(static_cast<int>(e - b));
    });
    FAIL() << "the range's exception did not come through";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "range failed");
  }
  EXPECT_EQ(ran.load(), 15);
}

TEST(ThreadPool, GlobalPoolResizes) {
  ThreadPool::set_num_threads(3);
  EXPECT_EQ(ThreadPool::global().num_threads(), 3);
  ThreadPool::set_num_threads(0);
  EXPECT_GE(ThreadPool::global().num_threads(), 1);
}

#if defined(__linux__)
// A process pinned to fewer cores (taskset, a container's cpuset) gets a default pool of that
// many threads, not one per core of the machine.
TEST(ThreadPool, DefaultPoolFollowsTheAffinityMask) {
  cpu_set_t original;
  ASSERT_EQ(sched_getaffinity(0, sizeof(original), &original), 0);
  EXPECT_EQ(ThreadPool::available_cores(), CPU_COUNT(&original));
  int first = 0;
  while (!CPU_ISSET(first, &original)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  ThreadPool::set_num_threads(0);
  const int pinned_cores = ThreadPool::available_cores();
  const int pinned_pool = ThreadPool::global().num_threads();
  ASSERT_EQ(sched_setaffinity(0, sizeof(original), &original), 0);
  ThreadPool::set_num_threads(0);
  EXPECT_EQ(pinned_cores, 1);
  EXPECT_EQ(pinned_pool, 1);
  EXPECT_EQ(ThreadPool::global().num_threads(), CPU_COUNT(&original));
}
#endif

}  // namespace
}  // namespace mlxlm
