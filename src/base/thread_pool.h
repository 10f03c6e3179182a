#pragma once
// A persistent pool of worker threads for data-parallel loops. The calling thread takes part
// in every loop, so a pool of N threads uses N cores with N-1 workers and never oversubscribes.
// Decoding runs a hundred small loops per token, so idle workers spin briefly before sleeping:
// a condition-variable wake-up per loop would cost more than some of the loops themselves.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
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

  // Calls fn(begin, end) on disjoint ranges covering [0, n) that start at multiples of `grain`
  // and hold whole multiples of it (the last one ends at n). Blocks until all are done. Nested
  // calls from inside fn run serially. When fn throws, on any thread, the other ranges still
  // run, and the first exception is rethrown here once every range is done.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // parallel_for for loops whose work streams from memory (decoding's weight rows): each thread
  // owns a contiguous share and runs it front to back, one grain at a time, so that its reads
  // stay one sequential stream the hardware prefetchers follow; a thread done with its own share
  // takes grains from the back of another's, so that a slower core (a shared VM's) leaves the
  // others waiting for at most a grain, not for the rest of its share.
  void parallel_for_streams(int64_t n, int64_t grain,
                            const std::function<void(int64_t, int64_t)>& fn);

  // The process-wide pool; sized by set_num_threads() or, by default, available_cores().
  static ThreadPool& global();
  static void set_num_threads(int n);

  // The cores this process may run on: its CPU affinity mask (taskset, a container's cpuset),
  // not the machine's core count, which would oversubscribe a process pinned to fewer cores.
  static int available_cores();

 private:
  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn, bool streams);
  void worker_loop(int slot);
  void run_chunks(uint32_t job, int slot);
  // Claims a grain of a streams job for thread `slot`: the front of its own share, else the
  // back of the largest share left. False when none is left.
  bool claim_stream_grain(uint32_t job, int slot, int64_t& grain);
  void run_grains(int64_t first, int64_t count);

  std::vector<std::thread> workers_;
  // Job description, written by the caller before it publishes the job in `state_` (release)
  // and read by a thread only after it has claimed a chunk of that job (acquire).
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_grain_ = 0;
  int64_t job_n_ = 0;
  // [job number : 32][grain count : 16][next unclaimed grain : 16]. Claiming a range is a CAS
  // on the whole word, so a thread still looking at an old job can never claim (or touch) a
  // new one, and the caller never waits for workers that did not take part.
  std::atomic<uint64_t> state_{0};
  // A streams job's shares, one per thread (the caller's first): [job number : 32][next grain
  // : 16][end : 16], stamped like `state_`. For such a job `state_` shows every grain claimed
  // from the start, so the guided hand-out takes none.
  struct alignas(64) Share {  // a line each: a thread's claims do not evict the others'
    std::atomic<uint64_t> word{0};
  };
  std::unique_ptr<Share[]> shares_;
  alignas(64) std::atomic<int64_t> done_grains_{0};  // apart from what the claims write
  // The first exception a range of the current job threw (set under error_mutex_ before that
  // range counts as done, so the caller sees it once every grain is done).
  std::exception_ptr job_error_;
  std::mutex error_mutex_;
  uint32_t job_number_ = 0;  // the caller's copy
  std::atomic<bool> stop_{false};
  std::mutex sleep_mutex_;
  std::condition_variable wake_cv_;
  std::mutex call_mutex_;
};

}  // namespace mlxlm
