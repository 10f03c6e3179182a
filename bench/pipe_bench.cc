// How many of the int8 kernels' instructions one core retires per cycle, alone and in pairs, so
// that a kernel's cycle count can be set against its machine's pipes (docs/benchmarks.md,
// session 21). Each case runs blocks of 8 independent instructions written in assembly (the
// compiler would merge or drop repeated intrinsics on the same inputs); `per_cycle` divides the
// instructions retired per second by the clock, measured by a chain of dependent adds (one
// cycle each). x86-64 with AVX2 only: elsewhere the binary has no cases, and on CPUs without
// AVX2 every case reports an error instead of a figure.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>

namespace {

#if defined(__x86_64__)
constexpr int64_t kBlocks = 1 << 20;

alignas(64) char g_buffer[4096];

#define MLXLM_CLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7"

// Cycles per second: 4 dependent adds per loop iteration, one cycle each.
double clock_hz() {
  static const double hz = [] {
    constexpr int64_t kAdds = int64_t{1} << 30;
    const auto t0 = std::chrono::steady_clock::now();
    int64_t v = 0;
    for (int64_t i = 0; i < kAdds; i += 4) {
      asm volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0" : "+r"(v));
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return static_cast<double>(kAdds) / s;
  }();
  return hz;
}

// Runs `block` (`per_block` independent instructions) kBlocks times per iteration and
// reports instructions per cycle.
template <typename Block>
void RunBlocks(benchmark::State& state, int per_block, Block block) {
  if (!__builtin_cpu_supports("avx2")) {
    state.SkipWithError("needs AVX2");
    return;
  }
  const double hz = clock_hz();
  // Zero inputs and accumulators: denormal floats could take a slow path.
  asm volatile("vzeroall" ::: MLXLM_CLOBBERS, "xmm8", "xmm9");
  const auto t0 = std::chrono::steady_clock::now();
  int64_t blocks = 0;
  for (auto _ : state) {
    for (int64_t i = 0; i < kBlocks; ++i) block();
    blocks += kBlocks;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.counters["per_cycle"] = static_cast<double>(blocks * per_block) / (s * hz);
  state.counters["GHz"] = hz * 1e-9;
}

// `op` (an instruction up to its destination) into ymm0 .. ymm7.
#define MLXLM_TO_EIGHT(op)                                                           \
  op "%%ymm0\n\t" op "%%ymm1\n\t" op "%%ymm2\n\t" op "%%ymm3\n\t" op "%%ymm4\n\t" op \
     "%%ymm5\n\t" op "%%ymm6\n\t" op "%%ymm7\n\t"

// 8 instructions reading g_buffer (`text`: the whole block, the buffer as %0).
#define MLXLM_FROM_BUFFER(name, text)                                                 \
  void name(benchmark::State& state) {                                                \
    RunBlocks(state, 8, [] { asm volatile(text ::"r"(g_buffer) : MLXLM_CLOBBERS); }); \
  }                                                                                   \
  BENCHMARK(name)

MLXLM_FROM_BUFFER(BM_LoadVector,
                  "vmovdqu (%0), %%ymm0\n\tvmovdqu 32(%0), %%ymm1\n\tvmovdqu 64(%0), %%ymm2\n\t"
                  "vmovdqu 96(%0), %%ymm3\n\tvmovdqu 128(%0), %%ymm4\n\tvmovdqu 160(%0), %%ymm5\n\t"
                  "vmovdqu 192(%0), %%ymm6\n\tvmovdqu 224(%0), %%ymm7");
MLXLM_FROM_BUFFER(BM_BroadcastDword,
                  "vpbroadcastd (%0), %%ymm0\n\tvpbroadcastd 4(%0), %%ymm1\n\t"
                  "vpbroadcastd 8(%0), %%ymm2\n\tvpbroadcastd 12(%0), %%ymm3\n\t"
                  "vpbroadcastd 16(%0), %%ymm4\n\tvpbroadcastd 20(%0), %%ymm5\n\t"
                  "vpbroadcastd 24(%0), %%ymm6\n\tvpbroadcastd 28(%0), %%ymm7");

// 8 of one register-to-register instruction (`op`: up to its destination).
#define MLXLM_ALONE(name, op)                                                        \
  void name(benchmark::State& state) {                                               \
    RunBlocks(state, 8, [] { asm volatile(MLXLM_TO_EIGHT(op)::: MLXLM_CLOBBERS); }); \
  }                                                                                  \
  BENCHMARK(name)

MLXLM_ALONE(BM_MaddUbs, "vpmaddubsw %%ymm8, %%ymm9, ");
MLXLM_ALONE(BM_MaddWords, "vpmaddwd %%ymm8, %%ymm9, ");
MLXLM_ALONE(BM_AddWords, "vpaddw %%ymm8, %%ymm9, ");
MLXLM_ALONE(BM_SignBytes, "vpsignb %%ymm8, %%ymm9, ");
MLXLM_ALONE(BM_AbsBytes, "vpabsb %%ymm8, ");
MLXLM_ALONE(BM_ShuffleDwords, "vpshufd $0x55, %%ymm8, ");
MLXLM_ALONE(BM_ConvertToFloat, "vcvtdq2ps %%ymm8, ");
// Eight accumulators, each FMA's own chain: latency 4 allows 2 per cycle.
MLXLM_ALONE(BM_Fma, "vfmadd231ps %%ymm8, %%ymm9, ");

// Pairs: 4 maddubs beside 4 independent instructions of another kind. per_cycle near 4 says the
// other kind runs beside maddubs on pipes of its own; near 2, that it takes the maddubs pipes (or
// delays them as much). Pair figures move with other load on the core: compare runs made in the
// same minutes.
MLXLM_FROM_BUFFER(BM_MaddUbsBesideBroadcast,
                  "vpmaddubsw %%ymm8, %%ymm9, %%ymm0\n\tvpmaddubsw %%ymm8, %%ymm9, %%ymm1\n\t"
                  "vpmaddubsw %%ymm8, %%ymm9, %%ymm2\n\tvpmaddubsw %%ymm8, %%ymm9, %%ymm3\n\t"
                  "vpbroadcastd (%0), %%ymm4\n\tvpbroadcastd 4(%0), %%ymm5\n\t"
                  "vpbroadcastd 8(%0), %%ymm6\n\tvpbroadcastd 12(%0), %%ymm7");

#define MLXLM_BESIDE_MADDUBS(name, op)                                                    \
  void name(benchmark::State& state) {                                                    \
    RunBlocks(state, 8, [] {                                                              \
      asm volatile(                                                                       \
          "vpmaddubsw %%ymm8, %%ymm9, %%ymm0\n\tvpmaddubsw %%ymm8, %%ymm9, %%ymm1\n\t"    \
          "vpmaddubsw %%ymm8, %%ymm9, %%ymm2\n\tvpmaddubsw %%ymm8, %%ymm9, %%ymm3\n\t" op \
          "%%ymm4\n\t" op "%%ymm5\n\t" op "%%ymm6\n\t" op "%%ymm7" ::                     \
              : MLXLM_CLOBBERS);                                                          \
    });                                                                                   \
  }                                                                                       \
  BENCHMARK(name)

MLXLM_BESIDE_MADDUBS(BM_MaddUbsBesideShuffle, "vpshufd $0x55, %%ymm8, ");
MLXLM_BESIDE_MADDUBS(BM_MaddUbsBesideAddWords, "vpaddw %%ymm8, %%ymm9, ");
MLXLM_BESIDE_MADDUBS(BM_MaddUbsBesideMaddWords, "vpmaddwd %%ymm8, %%ymm9, ");
MLXLM_BESIDE_MADDUBS(BM_MaddUbsBesideConvert, "vcvtdq2ps %%ymm8, ");
MLXLM_BESIDE_MADDUBS(BM_MaddUbsBesideMultiply, "vmulps %%ymm8, %%ymm9, ");
MLXLM_BESIDE_MADDUBS(BM_MaddUbsBesideAddDwords, "vpaddd %%ymm8, %%ymm9, ");
MLXLM_BESIDE_MADDUBS(BM_MaddUbsBesideSign, "vpsignb %%ymm8, %%ymm9, ");
MLXLM_BESIDE_MADDUBS(BM_MaddUbsBesideAnd, "vpand %%ymm8, %%ymm9, ");
MLXLM_BESIDE_MADDUBS(BM_MaddUbsBesideAddFloats, "vaddps %%ymm8, %%ymm9, ");
#endif  // __x86_64__

}  // namespace

BENCHMARK_MAIN();
