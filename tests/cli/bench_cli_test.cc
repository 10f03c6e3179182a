// `mlxlm bench` prints mlx-lm's benchmark lines, for one sequence and for a batch.
#include <gtest/gtest.h>

#include <regex>
#include <utility>

#include "base/thread_pool.h"
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

// tinystories-656k: 2,621,440 bytes of f32 matrices (tests/models/step_weights_test.cc) and 1024
// bytes of f32 keys and values per token; 8 steps after a 16-token prompt attend to 17 .. 24
// positions, 20.5 on average.
TEST(BenchCli, FloorComparesEachStepWithAReadOfItsBytes) {
  auto r =
      run_mlxlm("bench --model " + testing::tinystories_dir() + " -p 16 -g 8 -n 2 -t 1 --floor");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_trials(r.out, 2);
  const std::regex floor_line(
      "\n  floor: read_bandwidth=([0-9.]+) GB/s, step_bytes=([0-9.]+) GB, floor_tps=([0-9.]+), "
      "of_floor=([0-9.]+)% \\(medians of 8 steps, each beside a read of its weights\\)\n");
  int n = 0;
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), floor_line), end; it != end; ++it, ++n) {
    const auto& m = *it;
    const double bandwidth = std::stod(m[1]) * 1e9;
    EXPECT_GT(bandwidth, 0.0);
    EXPECT_DOUBLE_EQ(std::stod(m[2]), 0.002642);  // (2621440 + 1024 * 20.5) / 1e9, rounded
    // The median of bandwidth / step bytes, whose bytes vary by 0.3 % between steps.
    EXPECT_NEAR(std::stod(m[3]), bandwidth / 2642432, 0.01 * bandwidth / 2642432);
    EXPECT_GT(std::stod(m[4]), 0.0);
  }
  EXPECT_EQ(n, 2) << r.out;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex("\nFloor: of_floor=[0-9.]+% \\(mean of the trials\\)\n")))
      << r.out;
}

TEST(BenchCli, FloorNeedsOneSequenceAndSomeSteps) {
  auto r = run_mlxlm("bench --model " + testing::tinystories_dir() + " -b 2 -n 1 --floor");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--floor measures one-sequence decoding"), std::string::npos) << r.err;
  r = run_mlxlm("bench --model " + testing::tinystories_dir() + " -g 0 -n 1 --floor");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--floor measures decoding steps"), std::string::npos) << r.err;
}

// A bad count is a usage error (status 2, as argparse) that names the flag, the value and the
// bound, and nothing runs.
TEST(BenchCli, BadCountsAreUsageErrors) {
  for (auto [flags, message] : {std::pair{"-p 0", "--prompt-tokens: 0 is below 1"},
                                std::pair{"-g -1", "--generation-tokens: -1 is below 0"},
                                std::pair{"-b two", "--batch-size: two is not a whole number"}}) {
    auto r = run_mlxlm("bench --model " + testing::tinystories_dir() + " " + flags);
    EXPECT_EQ(r.exit_code, 2) << flags;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << flags;
  }
}

// A batch whose caches cannot fit in memory is refused before anything runs (the OOM killer
// ended such a run midway, without a word): 10^8 sequences of the sample model's 2 layers need
// terabytes.
TEST(BenchCli, CachesThatCannotFitAreRefused) {
  auto r =
      run_mlxlm("bench --model " + testing::tinystories_dir() + " -b 100000000 -p 8 -g 8 -n 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("100000000 sequence(s) of 16 tokens need about"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("GB of memory available: lower -b, -p or -g"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("Timing"), std::string::npos) << r.out;
}

// More threads than cores run (the user asked for them) but are named as sharing cores.
TEST(BenchCli, MoreThreadsThanCoresWarn) {
  const std::string threads = std::to_string(ThreadPool::available_cores() + 1);
  auto r = run_mlxlm("bench --model " + testing::tinystories_dir() + " -t " + threads +
                     " -p 4 -g 2 -n 1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("mlxlm bench: warning: " + threads + " threads exceed the cores"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("threads=" + threads), std::string::npos) << r.out;
}

// With the model as its own draft, greedy, every draft is accepted (spec 10.2): rounds of 2
// drafts and the target's bonus token, so the 30 timed tokens (after the first round, which the
// prompt time includes) are 10 rounds of 3 with 20 drafts.
TEST(BenchCli, DraftModelReportsAcceptance) {
  const std::string model = testing::tinystories_dir();
  auto r = run_mlxlm("bench --model " + model + " -p 16 -g 30 -n 2 -t 1 --draft-model " + model +
                     " --num-draft-tokens 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::regex trial(
      "Trial [0-9]+:  prompt_tps=[0-9.]+, generation_tps=([0-9.]+), peak_memory=[0-9.]+, "
      "total_time=[0-9.]+, acceptance=100.0% \\(20 of 20\\)\n");
  int n = 0;
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), trial), end; it != end; ++it, ++n) {
    EXPECT_GT(std::stod((*it)[1]), 0.0) << it->str();
  }
  EXPECT_EQ(n, 2) << r.out;
  EXPECT_NE(r.out.find(", acceptance=100.0% (40 of 40)\n"), std::string::npos) << r.out;
  // Speculative decoding is one sequence's; its draft count needs a draft.
  auto batched = run_mlxlm("bench --model " + model + " -b 2 -n 1 --draft-model " + model);
  EXPECT_EQ(batched.exit_code, 2);
  EXPECT_NE(batched.err.find("excludes"), std::string::npos) << batched.err;
  auto alone = run_mlxlm("bench --model " + model + " -n 1 --num-draft-tokens 2");
  EXPECT_EQ(alone.exit_code, 2);
  EXPECT_NE(alone.err.find("requires --draft-model"), std::string::npos) << alone.err;
}

TEST(BenchCli, MissingModelIsAnError) {
  auto r = run_mlxlm("bench --model /nonexistent/model -n 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("mlxlm bench:"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mlxlm
