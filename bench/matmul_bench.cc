// Matrix products per weight format: on weights that fit a cache (one thread), where the figure
// is the kernel's compute speed, and decoding from DRAM (1 or 2 threads), where the weight's
// stream competes with it. Items = multiply-adds, or weight bytes where a benchmark says so.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/hwy/dispatch.h"
#include "kernels/matmul.h"
#include "kernels/quant_acts.h"
#include "quant/quantize.h"
#include "tensor/tensor.h"

namespace {

using mlxlm::kernels::WeightFormat;

struct Fixture {
  std::vector<float> w;
  std::vector<uint16_t> bf16;
  mlxlm::quant::QuantizedTensors q;
  mlxlm::kernels::WeightRef ref;
};

Fixture make(int64_t rows, int64_t cols, int bits) {
  Fixture f;
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.0f, 0.02f);
  f.w.resize(rows * cols);
  for (auto& v : f.w) v = d(rng);
  if (bits == 16) {
    f.bf16.resize(f.w.size());
    for (size_t i = 0; i < f.w.size(); ++i) f.bf16[i] = mlxlm::f32_to_bf16(f.w[i]);
    f.ref.format = WeightFormat::BF16;
    f.ref.data = f.bf16.data();
    f.ref.rows = rows;
    f.ref.cols = cols;
  } else {
    mlxlm::QuantParams p{bits, 64, mlxlm::QuantMode::Affine};
    f.q = mlxlm::quant::quantize_matrix(f.w.data(), rows, cols, p, mlxlm::DType::BF16);
    f.ref = mlxlm::quant::quantized_ref(f.q, rows, cols, p);
  }
  f.w = {};  // only the converted weight is read
  return f;
}

// The fixture of the last call, kept while repetitions of one benchmark ask for the same shape:
// quantizing a 128 MiB weight takes seconds, far more than the product it serves.
const Fixture& cached(int64_t rows, int64_t cols, int bits) {
  static std::unique_ptr<Fixture> last;
  static std::tuple<int64_t, int64_t, int> key;
  if (last == nullptr || key != std::tuple(rows, cols, bits)) {
    last.reset();
    last = std::make_unique<Fixture>(make(rows, cols, bits));
    key = {rows, cols, bits};
  }
  return *last;
}

// y = x · Wᵀ for a rows x cols weight of `bits` (state.range(0)) and m activation rows
// (state.range(1)); items are multiply-adds.
void run_matmul(benchmark::State& state, int64_t rows, int64_t cols) {
  const int bits = static_cast<int>(state.range(0));
  const int64_t m = state.range(1);
  const Fixture& f = cached(rows, cols, bits);
  std::vector<float> x(m * cols, 0.5f), y(m * rows);
  for (auto _ : state) {
    mlxlm::kernels::matmul(x.data(), m, f.ref, nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * m * rows * cols);
}

void BM_Matmul(benchmark::State& state) {
  mlxlm::ThreadPool::set_num_threads(static_cast<int>(state.range(2)));
  run_matmul(state, 2048, 4096);
}
// bits 16 = bf16; args: bits, activation rows, threads.
BENCHMARK(BM_Matmul)->ArgsProduct({{16, 8, 4}, {1, 64}, {1}})->Unit(benchmark::kMillisecond);

// The same on a weight small enough for L2 (256 rows of 2048): the kernel's arithmetic ceiling,
// with no L3 or DRAM traffic in the way.
void BM_MatmulInL2(benchmark::State& state) {
  mlxlm::ThreadPool::set_num_threads(1);
  run_matmul(state, 256, 2048);
}
BENCHMARK(BM_MatmulInL2)->ArgsProduct({{16, 8, 4}, {1, 8, 64}});

// The quantized row kernel alone on the L2-resident weight: activations quantized once, no
// thread pool, so the figure is the tile loops' own speed.
void BM_QuantRowsInL2(benchmark::State& state) {
  const int bits = static_cast<int>(state.range(0));
  const int64_t m = state.range(1), cols = state.range(2), rows = state.range(3);
  const Fixture& f = cached(rows, cols, bits);
  std::vector<float> x(m * cols, 0.5f), y(m * rows);
  mlxlm::kernels::ActQuantizer quantizer;
  const auto acts =
      quantizer.quantize(x.data(), m, cols, mlxlm::kernels::code_order(f.ref), f.ref.group_size);
  for (auto _ : state) {
    mlxlm::kernels::simd::matmul_quant_rows(acts, f.ref, nullptr, y.data(), 0, rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * m * rows * cols);
}
BENCHMARK(BM_QuantRowsInL2)->ArgsProduct({{8, 4}, {1, 2, 3, 8, 64}, {576, 2048}, {256}});

// Prefill and batched decoding on Llama-3.2-1B's projection shapes (q/o: 2048 x 2048, gate/up:
// 8192 x 2048, down: 2048 x 8192), one thread; with AMX this is the tile path (amx.h).
// Args: bits, activation rows, weight rows, weight cols.
void BM_ManyRows(benchmark::State& state) {
  mlxlm::ThreadPool::set_num_threads(1);
  run_matmul(state, state.range(2), state.range(3));
}
BENCHMARK(BM_ManyRows)
    ->ArgsProduct({{16, 8, 4}, {8, 16, 64, 512}, {2048}, {2048}})
    ->Args({4, 512, 8192, 2048})
    ->Args({4, 512, 2048, 8192})
    ->Unit(benchmark::kMillisecond);

// Decoding from DRAM: a weight four times larger than this machine's L3 cache, one activation
// row. bytes_per_second is weight bytes streamed, to compare with bandwidth_bench.
// Args: bits, threads, cols (2048: Llama-1B's rows, one 4 KiB page per bf16 row).
void BM_MatvecFromDram(benchmark::State& state) {
  const int bits = static_cast<int>(state.range(0));
  mlxlm::ThreadPool::set_num_threads(static_cast<int>(state.range(1)));
  const int64_t cols = state.range(2);
  const int64_t bytes = int64_t{128} << 20;
  const int64_t rows = bytes * 8 / (cols * bits);
  const Fixture& f = cached(rows, cols, bits);
  std::vector<float> x(cols, 0.5f), y(rows);
  for (auto _ : state) {
    mlxlm::kernels::matmul(x.data(), 1, f.ref, nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  // Codes plus the bf16 scale and bias of every group of 64.
  const int64_t streamed = rows * cols * bits / 8 + (bits == 16 ? 0 : rows * (cols / 64) * 4);
  state.SetBytesProcessed(state.iterations() * streamed);
}
BENCHMARK(BM_MatvecFromDram)
    ->ArgsProduct({{16, 8, 4}, {1, 2}, {8192, 4096, 2048}})
    ->Unit(benchmark::kMillisecond);

// Batched decoding from DRAM: the weight of BM_MatvecFromDram against several activation rows,
// on 1 or 2 threads, so the kernel's arithmetic and the stream of weight rows compete. Items are
// multiply-adds. Args: bits, activation rows, cols (2048: gate/up and q/k/v/o; 8192: down),
// threads (1 shows whether the second thread's share of the bandwidth is what limits it).
void BM_BatchFromDram(benchmark::State& state) {
  mlxlm::ThreadPool::set_num_threads(static_cast<int>(state.range(3)));
  const int64_t cols = state.range(2);
  run_matmul(state, (int64_t{128} << 20) * 8 / (cols * state.range(0)), cols);
}
BENCHMARK(BM_BatchFromDram)
    ->ArgsProduct({{4}, {4, 8, 16}, {2048, 8192}, {2, 1}})
    ->Unit(benchmark::kMillisecond);

// Speculative decoding's verification from DRAM: the target scores the last token and 1-3
// drafts in one pass, which pays only if that pass costs about what one token's does (the
// weight streamed once). The time per iteration against m = 1 is the figure. Args as above.
void BM_VerifyFromDram(benchmark::State& state) { BM_BatchFromDram(state); }
BENCHMARK(BM_VerifyFromDram)
    ->ArgsProduct({{16, 8, 4}, {1, 2, 3, 4}, {2048}, {2}})
    ->Unit(benchmark::kMillisecond);

// A decoding step's products as the model runs them, from DRAM: per layer q/k/v (one group), o,
// gate/up (one group) and down, for 4 Llama-1B layers of 4-bit weights (137 MB, four times the
// L3 cache), on 2 threads. Unlike BM_BatchFromDram's one 128 MiB product, each product here is
// 2-17 MB, split into tasks and followed by a barrier, as in place. Items are multiply-adds.
// Args: activation rows.
void BM_DecodeLayers(benchmark::State& state) {
  constexpr int kLayers = 4;
  constexpr int64_t kHidden = 2048, kKv = 512, kFfn = 8192;
  static std::vector<Fixture> weights;  // per layer: q, k, v, o, gate, up, down
  if (weights.empty()) {
    for (int l = 0; l < kLayers; ++l) {
      for (auto [rows, cols] : {std::pair{kHidden, kHidden},
                                {kKv, kHidden},
                                {kKv, kHidden},
                                {kHidden, kHidden},
                                {kFfn, kHidden},
                                {kFfn, kHidden},
                                {kHidden, kFfn}}) {
        weights.push_back(make(rows, cols, 4));
      }
    }
  }
  mlxlm::ThreadPool::set_num_threads(2);
  const int64_t m = state.range(0);
  std::vector<float> x(m * kFfn, 0.5f), y(m * (kFfn * 2 + kHidden * 2));
  auto out = [&](const Fixture& f, int64_t offset) {
    return mlxlm::kernels::MatmulOutput{&f.ref, nullptr, y.data() + m * offset};
  };
  int64_t macs = 0;
  for (const auto& f : weights) macs += m * f.ref.rows * f.ref.cols;
  for (auto _ : state) {
    for (int l = 0; l < kLayers; ++l) {
      const Fixture* w = &weights[l * 7];
      const mlxlm::kernels::MatmulOutput qkv[] = {out(w[0], 0), out(w[1], kHidden),
                                                  out(w[2], kHidden + kKv)};
      mlxlm::kernels::matmul_group(x.data(), m, qkv);
      mlxlm::kernels::matmul(x.data(), m, w[3].ref, nullptr, y.data());
      const mlxlm::kernels::MatmulOutput gate_up[] = {out(w[4], 0), out(w[5], kFfn)};
      mlxlm::kernels::matmul_group(x.data(), m, gate_up);
      mlxlm::kernels::matmul(x.data(), m, w[6].ref, nullptr, y.data());
    }
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * macs);
}
BENCHMARK(BM_DecodeLayers)->Arg(1)->Arg(8)->Arg(16)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
