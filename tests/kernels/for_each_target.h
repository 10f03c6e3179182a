#pragma once
// Runs a test body once per SIMD target compiled into the binary and supported by this CPU,
// with the AMX tile path (which is not a Highway target, see amx_matmul_test.cc) switched off.
#include <gtest/gtest.h>

#include <string>

#include "kernels/amx/amx.h"
#include "kernels/simd_targets.h"

namespace mlxlm::testing {

template <class Fn>
void for_each_simd_target(Fn&& fn) {
  const auto targets = kernels::simd_targets();
  ASSERT_FALSE(targets.empty());
  struct AmxOff {
    bool was = kernels::amx::enabled();
    AmxOff() { kernels::amx::set_enabled(false); }
    ~AmxOff() { kernels::amx::set_enabled(was); }
  } amx_off;
  for (const std::string& t : targets) {
    ASSERT_TRUE(kernels::force_simd_target(t)) << t;
    ASSERT_EQ(kernels::active_simd_target(), t);
    SCOPED_TRACE("SIMD target " + t);
    fn();
  }
  kernels::force_simd_target("");
}

}  // namespace mlxlm::testing
