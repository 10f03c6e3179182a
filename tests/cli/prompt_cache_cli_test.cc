// `mlxlm cache-prompt` and `mlxlm generate --prompt-cache-file` as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "io/json.h"
#include "io/safetensors.h"
#include "run_cli.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

using testing::run_mlxlm;

const char* kPrefix = "Once upon a time, there was a little girl named Lily";
const char* kSuffix = ". She loved";

class PromptCacheCli : public ::testing::Test {
 protected:
  std::string cache_prompt(const std::string& flags, const std::string& model = "") {
    const std::string m = model.empty() ? testing::tinystories_dir() : model;
    auto r = run_mlxlm("cache-prompt --model '" + m + "' --prompt '" + kPrefix +
                       "' --prompt-cache-file '" + dir_.file("prefix") + "' " + flags);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    last_err_ = r.err;
    return dir_.file("prefix.safetensors");
  }
  testing::TempDir dir_;
  std::string last_err_;
};

TEST_F(PromptCacheCli, ContinuesFromTheSavedPrefix) {
  const std::string file = cache_prompt("");
  EXPECT_NE(last_err_.find("Processed"), std::string::npos) << last_err_;
  EXPECT_NE(last_err_.find(" tok/s)"), std::string::npos) << last_err_;
  EXPECT_NE(last_err_.find("Peak memory: "), std::string::npos) << last_err_;

  SafetensorsFile f(file);
  EXPECT_EQ(f.metadata().at("1.model"), testing::tinystories_dir());
  EXPECT_EQ(f.metadata().at("2.0"), "KVCache");
  // The full tokenizer configuration of the model folder.
  const Json stored = parse_json(f.metadata().at("1.tokenizer_config"), "tokenizer_config");
  EXPECT_EQ(stored, read_json_file(testing::tinystories_dir() + "/tokenizer_config.json"));
  EXPECT_TRUE(f.metadata().count("1.mlxlm_fingerprint"));

  // Only the suffix is processed: ". She loved" is 4 tokens ("▁", ".▁She▁", "lov", "ed").
  // Token-level equality with generating from the whole prompt is tested in
  // tests/generate/prompt_cache_generate_test.cc; as text it cannot hold for this tokenizer,
  // whose pieces span spaces ("Lily▁" in the whole prompt, "Lily" + "▁" when split).
  auto cont =
      run_mlxlm("generate --prompt-cache-file '" + file + "' --prompt '" + kSuffix + "' -m 30");
  ASSERT_EQ(cont.exit_code, 0) << cont.err;
  EXPECT_NE(cont.out.find("Prompt: 4 tokens"), std::string::npos) << cont.out;
  auto again =
      run_mlxlm("generate --prompt-cache-file '" + file + "' --prompt '" + kSuffix + "' -m 30");
  EXPECT_EQ(cont.out.substr(0, cont.out.find("Prompt:")),
            again.out.substr(0, again.out.find("Prompt:")));
}

TEST_F(PromptCacheCli, DifferentModelFlagIsAnError) {
  const std::string file = cache_prompt("");
  auto r =
      run_mlxlm("generate --model /some/other/model --prompt-cache-file '" + file + "' --prompt x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Providing a different model (/some/other/model) than that used to create "
                       "the prompt cache"),
            std::string::npos)
      << r.err;
}

TEST_F(PromptCacheCli, QuantizedCacheFlagsMustMatch) {
  const std::string file = cache_prompt("--kv-bits 8 --kv-group-size 16 --quantized-kv-start 0");
  EXPECT_EQ(SafetensorsFile(file).metadata().at("2.0"), "QuantizedKVCache");
  auto bits = run_mlxlm("generate --prompt-cache-file '" + file +
                        "' --kv-bits 4 --kv-group-size 16 --prompt x");
  EXPECT_EQ(bits.exit_code, 1);
  EXPECT_NE(bits.err.find("--kv-bits 4 does not match the 8-bit kv cache"), std::string::npos)
      << bits.err;
  auto group = run_mlxlm("generate --prompt-cache-file '" + file + "' --prompt x");
  EXPECT_EQ(group.exit_code, 1);
  EXPECT_NE(group.err.find("--kv-group-size 64 does not match"), std::string::npos) << group.err;
  auto ok = run_mlxlm("generate --prompt-cache-file '" + file +
                      "' --kv-group-size 16 --prompt '. She' -m 10 --verbose false");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_FALSE(ok.out.empty());
}

TEST_F(PromptCacheCli, MaxKvSizeMakesARotatingCache) {
  const std::string file = cache_prompt("--max-kv-size 32");
  SafetensorsFile f(file);
  EXPECT_EQ(f.metadata().at("2.0"), "RotatingKVCache");
  EXPECT_EQ(f.metadata().at("0.0.0"), "4");
  EXPECT_EQ(f.metadata().at("0.0.1"), "32");
  auto wrong = run_mlxlm("generate --prompt-cache-file '" + file + "' --max-kv-size 64 --prompt x");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("--max-kv-size 64 cannot change the saved cache"), std::string::npos)
      << wrong.err;
  // With --kv-bits too: a rotating quantized cache (mlx-lm refuses this combination).
  auto both = run_mlxlm(
      "generate --max-kv-size 16 --kv-bits 8 --kv-group-size 16 "
      "--quantized-kv-start 0 --prompt 'Once upon a time' -m 30 --verbose false");
  EXPECT_EQ(both.exit_code, 0) << both.err;
  EXPECT_FALSE(both.out.empty());
}

TEST_F(PromptCacheCli, CacheFromAnotherModelIsRefused) {
  // A copy of the model folder; after the cache is made its config.json changes.
  namespace fs = std::filesystem;
  const std::string model = dir_.file("model");
  fs::copy(testing::tinystories_dir(), model);
  const std::string file = cache_prompt("", model);
  std::ofstream(model + "/config.json", std::ios::app) << "\n";
  auto r = run_mlxlm("generate --prompt-cache-file '" + file + "' --prompt x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the prompt cache does not fit the loaded model: config.json differs"),
            std::string::npos)
      << r.err;
}

TEST_F(PromptCacheCli, MalformedFileIsOneClearLine) {
  std::ofstream(dir_.file("bad.safetensors")) << "not a cache";
  auto r =
      run_mlxlm("generate --prompt-cache-file '" + dir_.file("bad.safetensors") + "' --prompt x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot read prompt cache"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mlxlm
