// Attention over a cached block of keys and values, as one decode step (q_len 1) or a prefill
// chunk sees it, on the global thread pool. Shapes: SmolLM2-135M (9 query / 3 kv heads) and
// Llama-3.2-1B (32 / 8), head_dim 64, keys and values in f32 or in bf16 (as a bf16 model's cache
// holds them). Items = (query, head, key) triples.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/attention.h"

namespace {

constexpr int64_t hd = 64;  // head width of both benchmarked models

// Arguments for q_len query rows at the end of a kv_len-token cache, with the data pointers
// still to be set.
mlxlm::kernels::AttentionArgs shape_args(int64_t n_heads, int64_t n_kv, int64_t kv_len,
                                         int64_t q_len, bool bf16) {
  mlxlm::kernels::AttentionArgs a;
  a.q_len = q_len;
  a.n_heads = n_heads;
  a.head_dim = hd;
  a.kv_dtype = bf16 ? mlxlm::DType::BF16 : mlxlm::DType::F32;
  a.kv_len = kv_len;
  a.n_kv_heads = n_kv;
  a.v_head_dim = hd;
  a.k_head_stride = kv_len * hd;
  a.v_head_stride = kv_len * hd;
  a.scale = 1.0f / std::sqrt(static_cast<float>(hd));
  a.q_offset = kv_len - q_len;
  return a;
}

void BM_Attention(benchmark::State& state) {
  const int64_t n_heads = state.range(0), n_kv = state.range(1), kv_len = state.range(2);
  const int64_t q_len = state.range(3);
  const bool bf16 = state.range(4) != 0;
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
  auto to_bf16 = [](const std::vector<float>& x) {  // round to nearest even
    std::vector<uint16_t> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      uint32_t u;
      std::memcpy(&u, &x[i], 4);
      y[i] = static_cast<uint16_t>((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
    }
    return y;
  };
  const auto k16 = to_bf16(k), v16 = to_bf16(v);
  mlxlm::kernels::AttentionArgs a = shape_args(n_heads, n_kv, kv_len, q_len, bf16);
  a.q = q.data();
  a.k = bf16 ? static_cast<const void*>(k16.data()) : k.data();
  a.v = bf16 ? static_cast<const void*>(v16.data()) : v.data();
  a.out = out.data();
  for (auto _ : state) {
    mlxlm::kernels::attention(a);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * q_len * n_heads * kv_len);
}
BENCHMARK(BM_Attention)
    ->ArgNames({"heads", "kv_heads", "kv_len", "q_len", "bf16"})
    ->Args({9, 3, 512, 1, 0})
    ->Args({9, 3, 2048, 1, 0})
    ->Args({9, 3, 512, 1, 1})
    ->Args({9, 3, 2048, 1, 1})
    ->Args({32, 8, 512, 1, 0})
    ->Args({32, 8, 2048, 1, 0})
    ->Args({32, 8, 512, 1, 1})
    ->Args({32, 8, 2048, 1, 1})
    ->Args({9, 3, 512, 64, 0})
    ->Args({32, 8, 512, 64, 0})
    ->Args({32, 8, 512, 64, 1});

// Decoding as a model runs it: each call reads another layer's keys and values, 32 layers of
// bf16 caches together larger than the L3 cache, so they stream from DRAM as in generation at
// long contexts. Bytes are the keys and values read per call.
void BM_AttentionFromDram(benchmark::State& state) {
  const int64_t n_heads = state.range(0), n_kv = state.range(1), kv_len = state.range(2);
  constexpr int64_t kLayers = 32;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> bits(0x3C00, 0x3FFF);  // bf16 values in [0.0078, 2)
  std::vector<uint16_t> kv(static_cast<size_t>(kLayers * 2 * n_kv * kv_len * hd));
  for (auto& x : kv) x = static_cast<uint16_t>(bits(rng));
  std::vector<float> q(n_heads * hd, 0.01f), out(n_heads * hd);
  mlxlm::kernels::AttentionArgs a = shape_args(n_heads, n_kv, kv_len, 1, true);
  a.q = q.data();
  a.out = out.data();
  const int64_t layer_values = 2 * n_kv * kv_len * hd;
  int64_t layer = 0;
  for (auto _ : state) {
    a.k = kv.data() + layer * layer_values;
    a.v = kv.data() + layer * layer_values + layer_values / 2;
    mlxlm::kernels::attention(a);
    benchmark::DoNotOptimize(out.data());
    layer = (layer + 1) % kLayers;
  }
  state.SetBytesProcessed(state.iterations() * layer_values * 2);
}
BENCHMARK(BM_AttentionFromDram)
    ->ArgNames({"heads", "kv_heads", "kv_len"})
    ->Args({9, 3, 2048})
    ->Args({32, 8, 2048});

}  // namespace

BENCHMARK_MAIN();
