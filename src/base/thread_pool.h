#pragma once
// A persistent pool of worker threads for data-parallel loops. The calling thread takes part
// in every loop, so a pool of N threads uses N cores with N-1 workers and never oversubscribes.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mlxlm {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) on disjoint ranges covering [0, n), at least `grain` items each.
  // Blocks until all are done. Nested calls from inside fn run serially.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // The process-wide pool; sized by set_num_threads() or, by default, the core count.
  static ThreadPool& global();
  static void set_num_threads(int n);

 private:
  void worker_loop(int index);
  void run_chunks(int64_t first_chunk_hint);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_chunk_ = 0;
  int64_t job_chunks_ = 0;
  int64_t next_chunk_ = 0;
  int64_t finished_chunks_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::mutex call_mutex_;
};

}  // namespace mlxlm
