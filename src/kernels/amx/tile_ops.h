#pragma once
// Tile instructions and the target region of the AMX translation units (x86-64 only).
//
// Code between MLXLM_AMX_BEGIN and MLXLM_AMX_END is compiled for AVX-512 (with VNNI) + AMX; it
// runs only after amx::available() said yes, or, where it uses no tiles, after
// amx::vnni_available() did. Include every other header before MLXLM_AMX_BEGIN: an
// inline function from a shared header compiled inside the region could be the copy the
// linker keeps for the whole program. Helpers defined inside stay in anonymous namespaces.
//
// The tile instructions are written as inline asm with a "memory" clobber. GCC 12's AMX
// intrinsics declare no memory operands, so the compiler may move ordinary stores to a buffer
// past the tile load that reads it (and its `_tile_loadconfig` is broken, peers.md).
#include <cstdint>

// clang-format off
#if defined(__clang__)
#define MLXLM_AMX_BEGIN _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx512vbmi,avx512vnni,amx-tile,amx-bf16,amx-int8,fma,f16c,bmi2\"))), apply_to = function)")
#define MLXLM_AMX_END _Pragma("clang attribute pop")
#else
// GCC 12's AVX-512 intrinsics initialise their undefined vectors from themselves, which
// -Wmaybe-uninitialized reports inside every caller at -O3; -Wpsabi warns that vectors are
// passed in registers, which only the region's own functions do.
#define MLXLM_AMX_BEGIN                                                                      \
  _Pragma("GCC push_options")                                                                \
  _Pragma("GCC target(\"avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx512vbmi,avx512vnni,amx-tile,amx-bf16,amx-int8,fma,f16c,bmi2\")") \
  _Pragma("GCC diagnostic push")                                                             \
  _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")                                \
  _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")                                    \
  _Pragma("GCC diagnostic ignored \"-Wpsabi\"")
#define MLXLM_AMX_END _Pragma("GCC diagnostic pop") _Pragma("GCC pop_options")
#endif
// clang-format on

#define MLXLM_TILE_LOAD(t, base, stride)                                                      \
  asm volatile("tileloadd (%0,%1,1), %%tmm" #t ::"r"(base), "r"(static_cast<int64_t>(stride)) \
               : "memory")
#define MLXLM_TILE_STORE(t, base, stride)                                                         \
  asm volatile("tilestored %%tmm" #t ", (%0,%1,1)" ::"r"(base), "r"(static_cast<int64_t>(stride)) \
               : "memory")
#define MLXLM_TILE_ZERO(t) asm volatile("tilezero %%tmm" #t ::)
// tmm c += tmm a (16 x 32 bf16) · tmm b (16 x 16 bf16 pairs), in f32.
#define MLXLM_TILE_DP_BF16(c, a, b) asm volatile("tdpbf16ps %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::)
// tmm c (int32) += tmm a (16 x 64 unsigned bytes) · tmm b (16 x 16 groups of 4 signed bytes).
#define MLXLM_TILE_DP_U8S8(c, a, b) asm volatile("tdpbusd %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::)
#define MLXLM_TILE_RELEASE() asm volatile("tilerelease" ::: "memory")

namespace mlxlm::kernels::amx {

// The 64-byte operand of ldtilecfg (palette 1).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t bytes_per_row[16] = {};
  uint8_t rows[16] = {};
};

// Every tile 16 rows x 64 bytes: tmm0-3 accumulators, tmm4-5 weights, tmm6-7 activations.
static inline void load_full_tiles() {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.bytes_per_row[t] = 64;
    cfg.rows[t] = 16;
  }
  asm volatile("ldtilecfg %0" ::"m"(cfg));
}

}  // namespace mlxlm::kernels::amx
