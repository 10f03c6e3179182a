// sample_next_token: processors see the raw logits and the history, the reported row is the
// log-softmax of what they leave, and the sampler draws from that row.
#include <gtest/gtest.h>

#include <cmath>

#include "sampling/next_token.h"

namespace mlxlm {
namespace {

TEST(SampleNextToken, NormalisesWhatTheProcessorsLeave) {
  std::vector<float> logits = {0.0f, std::log(3.0f)};  // probabilities 1/4 and 3/4
  Sampler greedy;
  std::vector<float> lp;
  EXPECT_EQ(sample_next_token(logits, {}, {}, greedy, lp), 1);
  ASSERT_EQ(lp.size(), 2u);
  EXPECT_NEAR(lp[0], std::log(0.25), 1e-6);
  EXPECT_NEAR(lp[1], std::log(0.75), 1e-6);

  std::vector<int32_t> seen;
  LogitsProcessor lift_first = [&](std::span<const int32_t> history, std::span<float> row) {
    seen.assign(history.begin(), history.end());
    row[0] += std::log(9.0f);  // 9:3 -> probabilities 3/4 and 1/4
  };
  const std::vector<int32_t> history = {7, 8};
  EXPECT_EQ(sample_next_token(logits, history, {lift_first}, greedy, lp), 0);
  EXPECT_EQ(seen, history);
  EXPECT_NEAR(lp[0], std::log(0.75), 1e-6);
  EXPECT_NEAR(lp[1], std::log(0.25), 1e-6);
}

}  // namespace
}  // namespace mlxlm
