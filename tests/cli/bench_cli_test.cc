// `mlxlm bench` prints mlx-lm's benchmark lines, for one sequence and for a batch.
#include <gtest/gtest.h>

#include <regex>

#include "run_cli.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

using testing::run_mlxlm;

void expect_trials(const std::string& out, int trials) {
  const std::regex trial(
      "Trial [0-9]+:  prompt_tps=([0-9.]+), generation_tps=([0-9.]+), peak_memory=[0-9.]+, "
      "total_time=[0-9.]+\n");
  int n = 0;
  for (std::sregex_iterator it(out.begin(), out.end(), trial), end; it != end; ++it, ++n) {
    EXPECT_GT(std::stod((*it)[1]), 0.0) << it->str();
    EXPECT_GT(std::stod((*it)[2]), 0.0) << it->str();
  }
  EXPECT_EQ(n, trials) << out;
  EXPECT_TRUE(
      std::regex_search(out, std::regex("\nAverages: prompt_tps=[0-9.]+, generation_tps=[0-9.]+, "
                                        "peak_memory=[0-9.]+\n$")))
      << out;
}

TEST(BenchCli, SingleSequence) {
  auto r = run_mlxlm("bench --model " + testing::tinystories_dir() + " -p 16 -g 8 -n 2 -t 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Timing with prompt_tokens=16, generation_tokens=8, batch_size=1."),
            std::string::npos)
      << r.out;
  expect_trials(r.out, 2);
}

TEST(BenchCli, BatchUsesTheBatchGenerator) {
  auto r = run_mlxlm("bench --model " + testing::tinystories_dir() +
                     " -p 12 -g 6 -b 4 -n 2 -t 1 --prefill-step-size 5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("batch_size=4."), std::string::npos) << r.out;
  expect_trials(r.out, 2);
}

TEST(BenchCli, MissingModelIsAnError) {
  auto r = run_mlxlm("bench --model /nonexistent/model -n 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("mlxlm bench:"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mlxlm
