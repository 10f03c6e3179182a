// DRAM read bandwidth: streams a 1 GiB buffer (far beyond the caches) with the kernels' own
// SIMD loads. bytes_per_second is the figure the decoding floor is computed from.
// BM_ReadBandwidth reads memory in 4 KiB pages; BM_ReadBandwidthHugePages reads the same amount
// through 2 MiB pages, as weights mapped from a file the page cache holds in 2 MiB folios are
// (session 20 of docs/benchmarks.md), and reports how much of the buffer got them.
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/ops.h"

namespace {

constexpr int64_t kBytes = int64_t{1} << 30;

void BM_ReadBandwidth(benchmark::State& state) {
  mlxlm::ThreadPool::set_num_threads(static_cast<int>(state.range(0)));
  const int64_t n = kBytes / 4;
  std::vector<float> data(n, 1.0f);
  // glibc's malloc does not ask for huge pages; say so rather than assume it.
  ::madvise(data.data(), kBytes, MADV_NOHUGEPAGE);
  for (auto _ : state) benchmark::DoNotOptimize(mlxlm::kernels::sum(data.data(), n));
  state.SetBytesProcessed(state.iterations() * kBytes);
}
BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Kilobytes of this process's anonymous memory in huge pages, from /proc/self/smaps_rollup.
double anon_huge_kib() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("AnonHugePages:", 0) == 0) return std::stod(line.substr(14));
  }
  return 0;
}

void BM_ReadBandwidthHugePages(benchmark::State& state) {
  mlxlm::ThreadPool::set_num_threads(static_cast<int>(state.range(0)));
  constexpr size_t kHuge = size_t{2} << 20;
  void* region =
      ::mmap(nullptr, kBytes + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) {
    state.SkipWithError("mmap failed");
    return;
  }
  auto* data = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(region) + kHuge - 1) &
                                        ~uintptr_t{kHuge - 1});
  ::madvise(data, kBytes, MADV_HUGEPAGE);
  const int64_t n = kBytes / 4;
  for (int64_t i = 0; i < n; ++i) data[i] = 1.0f;
  state.counters["huge_fraction"] = anon_huge_kib() * 1024 / static_cast<double>(kBytes);
  for (auto _ : state) benchmark::DoNotOptimize(mlxlm::kernels::sum(data, n));
  state.SetBytesProcessed(state.iterations() * kBytes);
  ::munmap(region, kBytes + kHuge);
}
BENCHMARK(BM_ReadBandwidthHugePages)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
