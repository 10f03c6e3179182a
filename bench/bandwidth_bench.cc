// DRAM read bandwidth: streams a 1 GiB buffer (far beyond the caches) with the kernels' own
// SIMD loads. bytes_per_second is the figure the decoding floor is computed from.
#include <benchmark/benchmark.h>

#include <vector>

#include "base/thread_pool.h"
#include "kernels/ops.h"

namespace {

void BM_ReadBandwidth(benchmark::State& state) {
  mlxlm::ThreadPool::set_num_threads(static_cast<int>(state.range(0)));
  const int64_t n = (int64_t{1} << 30) / 4;
  std::vector<float> data(n, 1.0f);
  for (auto _ : state) benchmark::DoNotOptimize(mlxlm::kernels::sum(data.data(), n));
  state.SetBytesProcessed(state.iterations() * n * 4);
}
BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
