#include <hwy/targets.h>

#include "kernels/amx/amx.h"
#include "kernels/hwy/dispatch.h"
#include "kernels/simd_targets.h"

namespace mlxlm::kernels {

std::vector<std::string> simd_targets() {
  std::vector<std::string> names;
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) names.emplace_back(hwy::TargetName(t));
  return names;
}

bool force_simd_target(const std::string& name) {
  if (name.empty()) {
    hwy::SetSupportedTargetsForTest(0);
    return true;
  }
  hwy::SetSupportedTargetsForTest(0);
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) {
    if (name == hwy::TargetName(t)) {
      hwy::SetSupportedTargetsForTest(t);
      return true;
    }
  }
  return false;
}

std::string active_simd_target() { return simd::active_target_name(); }

std::string many_rows_path() {
  if (!amx::enabled()) return "off";
  if (amx::tiles_enabled()) return "amx";
  return amx::dpbf16_available() ? "avx512-vnni+bf16" : "avx512-vnni";
}

}  // namespace mlxlm::kernels
