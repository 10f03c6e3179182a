// Attention over a cached block of keys and values, as one decode step (q_len 1) or a prefill
// chunk sees it, on the global thread pool. Shapes: SmolLM2-135M (9 query / 3 kv heads) and
// Llama-3.2-1B (32 / 8), head_dim 64. Items = (query, head, key) triples.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/attention.h"

namespace {

void BM_Attention(benchmark::State& state) {
  const int64_t n_heads = state.range(0), n_kv = state.range(1), kv_len = state.range(2);
  const int64_t q_len = state.range(3), hd = 64;
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.0f, 1.0f);
  auto fill = [&](int64_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
  };
  const auto q = fill(q_len * n_heads * hd), k = fill(n_kv * kv_len * hd),
             v = fill(n_kv * kv_len * hd);
  std::vector<float> out(q_len * n_heads * hd);
  mlxlm::kernels::AttentionArgs a;
  a.q = q.data();
  a.q_len = q_len;
  a.n_heads = n_heads;
  a.head_dim = hd;
  a.k = k.data();
  a.v = v.data();
  a.kv_len = kv_len;
  a.n_kv_heads = n_kv;
  a.v_head_dim = hd;
  a.k_head_stride = kv_len * hd;
  a.v_head_stride = kv_len * hd;
  a.scale = 1.0f / std::sqrt(static_cast<float>(hd));
  a.q_offset = kv_len - q_len;
  a.out = out.data();
  for (auto _ : state) {
    mlxlm::kernels::attention(a);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * q_len * n_heads * kv_len);
}
BENCHMARK(BM_Attention)
    ->ArgNames({"heads", "kv_heads", "kv_len", "q_len"})
    ->Args({9, 3, 512, 1})
    ->Args({9, 3, 2048, 1})
    ->Args({32, 8, 512, 1})
    ->Args({32, 8, 2048, 1})
    ->Args({9, 3, 512, 64})
    ->Args({32, 8, 512, 64});

}  // namespace

BENCHMARK_MAIN();
