#include "base/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#if defined(__linux__)
#include <sched.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace mlxlm {
namespace {
thread_local bool t_inside_pool = false;
std::mutex g_pool_mutex;
std::unique_ptr<ThreadPool> g_pool;
int g_requested_threads = 0;

// How long an idle worker polls before it blocks: long enough to bridge the gaps between the
// matrix products of one decoding step, short enough not to burn a core between requests.
constexpr auto kSpinTime = std::chrono::microseconds(2000);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#else
  std::this_thread::yield();
#endif
}
}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  int workers = std::max(1, num_threads) - 1;
  shares_ = std::make_unique<Share[]>(workers + 1);
  workers_.reserve(workers);
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this, i] { worker_loop(i + 1); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    stop_.store(true);
  }
  wake_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_grains(int64_t first, int64_t count) {
  try {
    (*job_)(first * job_grain_, std::min(job_n_, (first + count) * job_grain_));
  } catch (...) {
    // Left to escape, it would end the process on a worker, or leave the caller while the
    // workers still run its job.
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (!job_error_) job_error_ = std::current_exception();
  }
}

bool ThreadPool::claim_stream_grain(uint32_t job, int slot, int64_t& grain) {
  auto next = [](uint64_t v) { return static_cast<int64_t>((v >> 16) & 0xFFFF); };
  auto end = [](uint64_t v) { return static_cast<int64_t>(v & 0xFFFF); };
  std::atomic<uint64_t>& own = shares_[slot].word;
  for (uint64_t v = own.load(std::memory_order_acquire);
       static_cast<uint32_t>(v >> 32) == job && next(v) < end(v);) {
    if (own.compare_exchange_weak(v, v + (uint64_t{1} << 16), std::memory_order_acq_rel)) {
      grain = next(v);
      return true;
    }
  }
  while (true) {
    int victim = -1;
    int64_t most = 0;
    uint64_t seen = 0;
    for (int t = 0; t < num_threads(); ++t) {
      const uint64_t v = shares_[t].word.load(std::memory_order_acquire);
      if (static_cast<uint32_t>(v >> 32) == job && end(v) - next(v) > most) {
        victim = t;
        most = end(v) - next(v);
        seen = v;
      }
    }
    if (victim < 0) return false;
    if (shares_[victim].word.compare_exchange_strong(seen, seen - 1, std::memory_order_acq_rel)) {
      grain = end(seen) - 1;
      return true;
    }
  }
}

void ThreadPool::run_chunks(uint32_t job, int slot) {
  const int64_t threads = num_threads();
  // Counted once, at the end: the caller polls the count, and a write per grain would pull its
  // line back and forth between the cores.
  int64_t done = 0;
  uint64_t s = state_.load(std::memory_order_acquire);
  while (true) {
    if (static_cast<uint32_t>(s >> 32) != job) break;
    const int64_t grains = static_cast<int64_t>((s >> 16) & 0xFFFF);
    const int64_t next = static_cast<int64_t>(s & 0xFFFF);
    if (next >= grains) break;
    // Guided: a thread's share of what is left, so that the ranges halve towards the end (on 2
    // threads) and the last one to finish leaves the others little to wait for. Batched
    // decoding of Llama-1B 4-bit, 2 threads, back to back: batch 8 +8 % and batch 16 +5 %
    // against 4 equal ranges per thread; a quarter of what is left instead gained half as much.
    // At most half a thread's share of the whole loop, though: the shared VM's cores are not
    // equally fast (one ran a batch-8 step's grains 65 % slower than the other for minutes),
    // and a slow thread that claimed half of a loop first left the fast one waiting for up to
    // a third of it. With the cap, a thread claims one range more per loop.
    const int64_t share = (grains - next + threads - 1) / threads;
    const int64_t take = std::min(share, (grains + 2 * threads - 1) / (2 * threads));
    if (!state_.compare_exchange_weak(s, s + static_cast<uint64_t>(take),
                                      std::memory_order_acq_rel)) {
      continue;
    }
    run_grains(next, take);
    done += take;
    s = state_.load(std::memory_order_acquire);
  }
  // A streams job publishes its grains as all claimed, and hands them out through its shares.
  for (int64_t grain = 0; claim_stream_grain(job, slot, grain); ++done) run_grains(grain, 1);
  if (done > 0) done_grains_.fetch_add(done, std::memory_order_release);
}

void ThreadPool::worker_loop(int slot) {
  t_inside_pool = true;
  uint32_t seen = 0;
  auto current = [&] {
    return static_cast<uint32_t>(state_.load(std::memory_order_acquire) >> 32);
  };
  while (true) {
    auto deadline = std::chrono::steady_clock::now() + kSpinTime;
    int polls = 0;
    while (current() == seen && !stop_.load()) {
      if (++polls < 4096) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
      if (polls % 256 == 0 && std::chrono::steady_clock::now() > deadline) {
        std::unique_lock<std::mutex> lock(sleep_mutex_);
        wake_cv_.wait(lock, [&] { return stop_.load() || current() != seen; });
      }
    }
    if (stop_.load()) return;
    seen = current();
    run_chunks(seen, slot);
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  run(n, grain, fn, /*streams=*/false);
}

void ThreadPool::parallel_for_streams(int64_t n, int64_t grain,
                                      const std::function<void(int64_t, int64_t)>& fn) {
  run(n, grain, fn, /*streams=*/true);
}

void ThreadPool::run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn,
                     bool streams) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  int threads = num_threads();
  if (t_inside_pool || threads == 1 || n <= grain) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mutex_);
  job_ = &fn;
  job_n_ = n;
  // The state word counts grains in 16 bits: coarser grains (still whole multiples of the
  // caller's) for a loop that has more.
  grain *= (n / grain + 0xFFFF) / 0xFFFF;
  const int64_t grains = (n + grain - 1) / grain;
  job_grain_ = grain;
  done_grains_.store(0, std::memory_order_relaxed);
  const uint32_t job = ++job_number_;
  if (streams) {
    for (int t = 0; t < threads; ++t) {
      const auto first = static_cast<uint64_t>(grains * t / threads);
      const auto end = static_cast<uint64_t>(grains * (t + 1) / threads);
      shares_[t].word.store((uint64_t{job} << 32) | (first << 16) | end, std::memory_order_release);
    }
  }
  {
    // Publishing under the lock orders it against a worker that is about to block.
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    const auto g = static_cast<uint64_t>(grains);
    state_.store((uint64_t{job} << 32) | (g << 16) | (streams ? g : 0), std::memory_order_release);
  }
  wake_cv_.notify_all();
  t_inside_pool = true;
  run_chunks(job, 0);
  t_inside_pool = false;
  // Only ranges that some thread claimed are outstanding; their owners are running them.
  for (int polls = 0; done_grains_.load(std::memory_order_acquire) != grains; ++polls) {
    if (polls < 4096) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
  job_ = nullptr;
  if (job_error_) std::rethrow_exception(std::exchange(job_error_, nullptr));
}

ThreadPool& ThreadPool::global() {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (!g_pool) {
    int n = g_requested_threads > 0 ? g_requested_threads : available_cores();
    g_pool = std::make_unique<ThreadPool>(std::max(1, n));
  }
  return *g_pool;
}

int ThreadPool::available_cores() {
#if defined(__linux__)
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof(mask), &mask) == 0) return std::max(1, CPU_COUNT(&mask));
#endif
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

void ThreadPool::set_num_threads(int n) {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  g_requested_threads = n;
  g_pool.reset();
}

}  // namespace mlxlm
