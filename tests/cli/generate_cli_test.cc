// `mlxlm generate` as a user runs it, on the sample model, against the float64 golden story.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>
#include <utility>

#include "base/thread_pool.h"
#include "io/json.h"
#include "run_cli.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

using testing::run_mlxlm;

std::string golden_story(const std::string& prompt) {
  std::ifstream in(testing::shared_path("golden/tinystories-656k/greedy.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    Json j = parse_json(line, "greedy.jsonl");
    if (j["prompt"] == prompt) return j["text_until_eos"].get<std::string>();
  }
  ADD_FAILURE() << "no golden for " << prompt;
  return "";
}

TEST(GenerateCli, GreedyStoryMatchesGoldenWithStatistics) {
  auto r = run_mlxlm("generate --prompt 'Once upon a time' --max-tokens 40 --temp 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  const std::regex layout(
      "^==========\n([\\s\\S]*)\n==========\n"
      "Prompt: 6 tokens, [0-9]+\\.[0-9]{3} tokens-per-sec\n"
      "Generation: 40 tokens, [0-9]+\\.[0-9]{3} tokens-per-sec\n"
      "Peak memory: [0-9]+\\.[0-9]{3} GB\n$");
  ASSERT_TRUE(std::regex_match(r.out, m, layout)) << r.out;
  const std::string text = m[1];
  const std::string golden = golden_story("Once upon a time");
  // 40 greedy tokens of the golden continuation (which runs 64 tokens without an EOS).
  EXPECT_GT(text.size(), 150u);
  EXPECT_EQ(golden.compare(0, text.size(), text), 0)
      << "generated: " << text << "\ngolden: " << golden;
}

// --threads sizes the pool and leaves the greedy story as it was.
TEST(GenerateCli, ThreadsFlagKeepsTheGoldenStory) {
  auto r = run_mlxlm(
      "generate --prompt 'Once upon a time' --max-tokens 40 --temp 0 --verbose f "
      "--threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const std::string golden = golden_story("Once upon a time");
  ASSERT_GT(r.out.size(), 150u);
  EXPECT_EQ(golden.compare(0, r.out.size() - 1, r.out, 0, r.out.size() - 1), 0) << r.out;
  const std::string more = std::to_string(ThreadPool::available_cores() + 1);
  auto w = run_mlxlm("generate --prompt hi --max-tokens 2 --verbose f --threads " + more);
  ASSERT_EQ(w.exit_code, 0) << w.err;
  EXPECT_NE(w.err.find("mlxlm generate: warning: " + more + " threads exceed the cores"),
            std::string::npos)
      << w.err;
}

TEST(GenerateCli, QuietModePrintsOnlyTheText) {
  auto r =
      run_mlxlm("generate --prompt 'Once upon a time' --max-tokens 12 --temp 0 --verbose false");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("=========="), std::string::npos);
  ASSERT_FALSE(r.out.empty());
  const std::string golden = golden_story("Once upon a time");
  std::string text = r.out.substr(0, r.out.size() - 1);  // trailing newline
  EXPECT_EQ(golden.compare(0, text.size(), text), 0) << text;
}

TEST(GenerateCli, PromptFromStdinAndSeededSamplingIsReproducible) {
  auto a =
      run_mlxlm("generate -p - -m 30 --temp 0.9 --seed 11 --verbose false", "Once upon a time");
  auto b =
      run_mlxlm("generate -p - -m 30 --temp 0.9 --seed 11 --verbose false", "Once upon a time");
  auto c =
      run_mlxlm("generate -p - -m 30 --temp 0.9 --seed 12 --verbose false", "Once upon a time");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
}

TEST(GenerateCli, ExtraEosTokenStopsGeneration) {
  // Token 313 is the golden first greedy token (","); as an extra EOS it ends generation at once.
  auto r = run_mlxlm("generate --prompt 'Once upon a time' -m 20 --temp 0 --extra-eos-token 313");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("No text generated for this prompt"), std::string::npos) << r.out;
}

TEST(GenerateCli, MissingModelIsOneClearLine) {
  auto r = run_mlxlm("generate --model /nonexistent/model --prompt hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("model folder not found: /nonexistent/model"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(GenerateCli, BadFlagValuesAreRejected) {
  auto r = run_mlxlm("generate --prompt hi --top-p 2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("top_p must be in [0, 1]"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "") << "nothing but the error, no framing";
  // The sample model's vocabulary holds 2048 tokens: a top_k it cannot hold fails before the
  // prompt is processed too, not at the first draw after it.
  auto k = run_mlxlm("generate --prompt hi --temp 1 --top-k 2048");
  EXPECT_EQ(k.exit_code, 1);
  EXPECT_NE(k.err.find("top_k must be less than the vocabulary size (2048), got 2048"),
            std::string::npos)
      << k.err;
  EXPECT_EQ(k.out, "");
  auto d = run_mlxlm("generate --prompt hi --num-draft-tokens 0 --draft-model " +
                     testing::tinystories_dir());
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_NE(d.err.find("--num-draft-tokens"), std::string::npos) << d.err;
  EXPECT_EQ(d.out, "");
  // CLI11 alone would read seed -1 as 2^64 - 1 and saturate 2^64: three seeds, one text.
  const char* kSeedError = " is not a whole number from 0 to 18446744073709551615";
  for (auto [flags, message] :
       {std::pair<std::string, std::string>{"--max-kv-size 0", "--max-kv-size: 0 is below 1"},
        {"--kv-bits 1", "--kv-bits: 1 not in {2,3,4,5,6,8}"},
        {"--prefill-step-size 0", "--prefill-step-size: 0 is below 1"},
        {"--threads -1", "--threads: -1 is below 0"},
        {"--seed -1", std::string("--seed: -1") + kSeedError},
        {"--seed 18446744073709551616",
         std::string("--seed: 18446744073709551616") + kSeedError}}) {
    auto k = run_mlxlm("generate --prompt hi " + flags);
    EXPECT_EQ(k.exit_code, 2) << flags;
    EXPECT_NE(k.err.find(message), std::string::npos) << k.err;
  }
  auto u = run_mlxlm("generate --no-such-flag");
  EXPECT_EQ(u.exit_code, 2);
}

TEST(GenerateCli, HelpExplainsFlags) {
  auto r = run_mlxlm("generate --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag :
       {"--model", "--prompt", "--max-tokens", "--temp", "--top-p", "--min-p", "--top-k",
        "--xtc-probability", "--xtc-threshold", "--min-tokens-to-keep", "--seed",
        "--extra-eos-token", "--ignore-chat-template", "--verbose"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace mlxlm

namespace mlxlm {
namespace {

TEST(GenerateCli, DraftModelKeepsGreedyTextAndReportsAcceptance) {
  const std::string model = testing::tinystories_dir();
  auto plain = testing::run_mlxlm("generate -p 'Once upon a time' -m 30 --temp 0");
  auto spec = testing::run_mlxlm("generate -p 'Once upon a time' -m 30 --temp 0 --draft-model " +
                                 model + " --num-draft-tokens 3");
  ASSERT_EQ(spec.exit_code, 0) << spec.err;
  auto text = [](const std::string& out) { return out.substr(0, out.find("\n==========\n", 11)); };
  EXPECT_EQ(text(plain.out), text(spec.out));
  EXPECT_NE(spec.out.find("Draft acceptance: "), std::string::npos) << spec.out;
  // A rotating cache cannot rewind once full: the bound is refused, not silently dropped.
  auto bounded = testing::run_mlxlm(
      "generate -p 'Once upon a time' -m 30 --max-kv-size 8 "
      "--draft-model " +
      model);
  EXPECT_EQ(bounded.exit_code, 2);
  EXPECT_NE(bounded.err.find("excludes"), std::string::npos) << bounded.err;
  EXPECT_EQ(bounded.out, "");
}

}  // namespace
}  // namespace mlxlm
