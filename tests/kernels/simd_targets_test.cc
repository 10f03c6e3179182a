#include <gtest/gtest.h>

#include "kernels/simd_targets.h"

namespace mlxlm {
namespace {

TEST(SimdTargets, ListsTargetsAndForcesEach) {
  const auto targets = kernels::simd_targets();
  ASSERT_FALSE(targets.empty());
  const std::string best = kernels::active_simd_target();
  EXPECT_EQ(best, targets.front());
  for (const auto& t : targets) {
    std::printf("SIMD target available: %s\n", t.c_str());
    ASSERT_TRUE(kernels::force_simd_target(t));
    EXPECT_EQ(kernels::active_simd_target(), t);
  }
  EXPECT_FALSE(kernels::force_simd_target("no-such-target"));
  ASSERT_TRUE(kernels::force_simd_target(""));
  EXPECT_EQ(kernels::active_simd_target(), best);
}

}  // namespace
}  // namespace mlxlm
