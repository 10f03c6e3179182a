// Run-time detection of AMX and the switch that turns the tile path on and off.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "kernels/amx/amx.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace mlxlm::kernels::amx {
namespace {

#if defined(__x86_64__)
uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

// AVX-512 F, DQ, BW, VL, VBMI and VNNI, with the opmask and ZMM state saved by the OS (XCR0
// bits 1, 2, 5-7).
bool detect_vnni() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false;  // OSXSAVE
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool avx512 = (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) &&
                      (b & (1u << 31));                        // F, DQ, BW, VL
  const bool vbmi_vnni = (c & (1u << 1)) && (c & (1u << 11));  // VBMI, VNNI
  const uint64_t need = (7u << 5) | 6u;
  return avx512 && vbmi_vnni && (read_xcr0() & need) == need;
}

bool detect_dpbf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return detect_vnni() && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));
}

bool detect() {
  if (!detect_vnni()) return false;
  unsigned a = 0, b = 0, c = 0, d = 0;
  __get_cpuid_count(7, 0, &a, &b, &c, &d);
  const bool amx = (d & (1u << 22)) && (d & (1u << 24)) && (d & (1u << 25));  // BF16, TILE, INT8
  if (!amx) return false;
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d) || !(a & (1u << 5))) return false;  // AVX512_BF16
  // The OS must also save the tile state (XCR0 bits 17, 18).
  const uint64_t need = 3u << 17;
  if ((read_xcr0() & need) != need) return false;
  // Linux hands out the 8 KiB tile data state only on request (ARCH_REQ_XCOMP_PERM).
  constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
}
#else
bool detect_vnni() { return false; }
bool detect_dpbf16() { return false; }
bool detect() { return false; }
#endif

bool env_allows() {
  const char* v = std::getenv("MLXLM_AMX");
  return v == nullptr || std::strcmp(v, "0") != 0;
}

std::atomic<bool> g_enabled{env_allows()};
std::atomic<bool> g_prefer_vnni{false};

}  // namespace

bool available() {
  static const bool yes = detect();
  return yes;
}

bool vnni_available() {
  static const bool yes = detect_vnni();
  return yes;
}

bool dpbf16_available() {
  static const bool yes = detect_dpbf16();
  return yes;
}

bool enabled() {
  return g_enabled.load(std::memory_order_relaxed) && (available() || vnni_available());
}

bool tiles_enabled() {
  return g_enabled.load(std::memory_order_relaxed) && available() &&
         !g_prefer_vnni.load(std::memory_order_relaxed);
}

void set_enabled(bool on) { g_enabled.store(on, std::memory_order_relaxed); }

void set_prefer_vnni(bool on) { g_prefer_vnni.store(on, std::memory_order_relaxed); }

bool supports(const WeightRef& w) {
  return w.format == WeightFormat::BF16 || w.format == WeightFormat::Affine ||
         w.format == WeightFormat::MxFp4;
}

bool supports_int8(const WeightRef& w) {
  return w.format == WeightFormat::Affine && (w.bits == 4 || w.bits == 8) &&
         (w.group_size == 64 || w.group_size == 128);
}

int64_t int8_min_rows(const WeightRef& w) {
  if (tiles_enabled()) return kMinRows;
  return w.bits == 4 ? 64 : 16;
}

}  // namespace mlxlm::kernels::amx
