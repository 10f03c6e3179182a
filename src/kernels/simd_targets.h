#pragma once
// Which SIMD instruction set the kernels run on. One binary carries several (SSE4, AVX2,
// AVX-512, AVX-512 VNNI on x86; NEON on Arm) and picks the best the CPU supports at run time.
#include <string>
#include <vector>

namespace mlxlm::kernels {

// Targets both compiled into this binary and supported by this CPU, best first.
std::vector<std::string> simd_targets();
// Restricts dispatch to the named target (tests use it to sweep every target); an empty name
// restores the normal choice. Returns false for a name not in simd_targets().
bool force_simd_target(const std::string& name);
// The target the kernels dispatch to now.
std::string active_simd_target();
// The path of products with many activation rows (prefill, batches): "amx" (tiles),
// "avx512-vnni+bf16" or "avx512-vnni" (CPUs without tiles), or "off" (the SIMD target's own
// kernels; also when switched off by MLXLM_AMX=0).
std::string many_rows_path();

}  // namespace mlxlm::kernels
