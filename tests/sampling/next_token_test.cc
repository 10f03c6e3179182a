// sample_next_token: processors see the raw logits and the history, the reported row is the
// log-softmax of what they leave, and the sampler draws from that row.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "base/error.h"
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

// Processors that mask every token (a constraint at a dead end) or a NaN logit would normalise to
// NaN and draw an arbitrary token: an error names the cause instead.
TEST(SampleNextToken, NothingLeftToSampleIsAnError) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> logits = {0.5f, 1.5f, -0.5f};
  std::vector<float> lp;
  LogitsProcessor mask_all = [&](std::span<const int32_t>, std::span<float> row) {
    for (float& v : row) v = -inf;
  };
  for (float temp : {0.0f, 1.0f}) {
    Sampler sampler({.temp = temp, .seed = 1});
    try {
      sample_next_token(logits, {}, {mask_all}, sampler, lp);
      ADD_FAILURE() << "sampled from a row with every token masked, temp " << temp;
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find("left no token to sample"), std::string::npos)
          << e.what();
    }
  }
  Sampler greedy;
  std::vector<float> with_nan = {0.5f, std::nanf(""), -0.5f};
  EXPECT_THROW(sample_next_token(with_nan, {}, {}, greedy, lp), InvalidInput);
  // One token left is a row to sample from.
  LogitsProcessor keep_last = [&](std::span<const int32_t>, std::span<float> row) {
    row[0] = row[1] = -inf;
  };
  EXPECT_EQ(sample_next_token(logits, {}, {keep_last}, greedy, lp), 2);
  EXPECT_FLOAT_EQ(lp[2], 0.0f);
}

}  // namespace
}  // namespace mlxlm
