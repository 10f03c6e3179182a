// `mlxlm cache-prompt --draft-model` and `generate --prompt-cache-file` with a draft model: the
// file holds the model's layers and then the draft's (mlx-lm's layout for speculative decoding).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/safetensors.h"
#include "run_cli.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

using testing::run_mlxlm;

const char* kPrefix = "Once upon a time, there was a little girl named Lily";
const char* kSuffix = ". She loved";

// The text between the framing lines of a verbose generate run.
std::string generated_text(const std::string& out) {
  return out.substr(0, out.find("\n==========\n", 11));
}

// Whether tensor `a` of file `fa` has the dtype, shape and bytes of tensor `b` of file `fb`.
bool same_tensor(const SafetensorsFile& fa, const std::string& a, const SafetensorsFile& fb,
                 const std::string& b) {
  const SafetensorsEntry& ea = fa.entry(a);
  const SafetensorsEntry& eb = fb.entry(b);
  if (ea.dtype != eb.dtype || ea.shape != eb.shape || ea.end - ea.begin != eb.end - eb.begin) {
    return false;
  }
  return std::memcmp(fa.get(a).data(), fb.get(b).data(), ea.end - ea.begin) == 0;
}

class DraftPromptCacheCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The draft: a 4-bit conversion of the same model (other weights, same vocabulary).
    dir_ = new testing::TempDir();
    auto r = run_mlxlm("convert --hf-path '" + testing::tinystories_dir() + "' --mlx-path '" +
                       draft() + "' -q --q-bits 4 --q-group-size 64");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string draft() { return dir_->file("draft-q4"); }

  // cache-prompt of kPrefix into `name`.safetensors with `flags`; returns the file.
  static std::string cache_prompt(const std::string& name, const std::string& flags) {
    auto r = run_mlxlm("cache-prompt --prompt '" + std::string(kPrefix) +
                       "' --prompt-cache-file '" + dir_->file(name) + "' " + flags);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return dir_->file(name + ".safetensors");
  }
  static testing::CliResult continue_from(const std::string& file, const std::string& flags = "") {
    return run_mlxlm("generate --prompt-cache-file '" + file + "' --prompt '" + kSuffix +
                     "' -m 30 --temp 0 " + flags);
  }

  static testing::TempDir* dir_;
};

testing::TempDir* DraftPromptCacheCli::dir_ = nullptr;

TEST_F(DraftPromptCacheCli, FileHoldsTheModelsLayersThenTheDrafts) {
  const std::string both = cache_prompt("both", "--draft-model '" + draft() + "'");
  // Independent expectations: what cache-prompt writes for each model alone.
  const std::string model_only = cache_prompt("model-only", "");
  const std::string draft_only = cache_prompt("draft-only", "--model '" + draft() + "'");
  SafetensorsFile f(both), m(model_only), d(draft_only);
  EXPECT_EQ(f.metadata().at("1.model"), testing::tinystories_dir());
  EXPECT_EQ(f.metadata().at("1.draft_model"), draft());
  EXPECT_EQ(f.metadata().at("1.mlxlm_fingerprint"), m.metadata().at("1.mlxlm_fingerprint"));
  EXPECT_EQ(f.metadata().at("1.mlxlm_draft_fingerprint"), d.metadata().at("1.mlxlm_fingerprint"));
  // tinystories-656k has 2 layers, each a KVCache of (keys, values).
  ASSERT_EQ(f.names().size(), 8u);
  for (int layer = 0; layer < 2; ++layer) {
    for (int part = 0; part < 2; ++part) {
      const std::string own = std::to_string(layer) + "." + std::to_string(part);
      const std::string after = std::to_string(layer + 2) + "." + std::to_string(part);
      EXPECT_TRUE(same_tensor(f, own, m, own)) << own;
      EXPECT_TRUE(same_tensor(f, after, d, own)) << after;
      EXPECT_FALSE(same_tensor(f, after, m, own)) << "the draft's weights differ: " << after;
    }
    EXPECT_EQ(f.metadata().at("2." + std::to_string(layer + 2)), "KVCache");
  }
}

// Each model's layers keep its own dtype, as mlx-lm saves each array in its own.
TEST_F(DraftPromptCacheCli, DraftLayersKeepTheDraftsDtype) {
  const std::string bf16 = dir_->file("draft-bf16");
  auto c = run_mlxlm("convert --hf-path '" + testing::tinystories_dir() + "' --mlx-path '" + bf16 +
                     "' --dtype bfloat16");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const std::string both = cache_prompt("bf16-draft", "--draft-model '" + bf16 + "'");
  const std::string draft_only = cache_prompt("bf16-only", "--model '" + bf16 + "'");
  SafetensorsFile f(both), d(draft_only);
  for (const char* name : {"0.0", "0.1", "1.0", "1.1"}) {
    EXPECT_EQ(f.entry(name).dtype, DType::F32) << name;  // tinystories-656k is f32
  }
  EXPECT_EQ(f.entry("2.0").dtype, DType::BF16);
  EXPECT_TRUE(same_tensor(f, "2.0", d, "0.0"));
  EXPECT_TRUE(same_tensor(f, "3.1", d, "1.1"));
  auto g = continue_from(both);
  EXPECT_EQ(g.exit_code, 0) << g.err;
  EXPECT_NE(g.out.find("Draft acceptance: "), std::string::npos) << g.out;
}

TEST_F(DraftPromptCacheCli, GenerateUsesTheRecordedDraftAndKeepsTheGreedyText) {
  const std::string both = cache_prompt("both", "--draft-model '" + draft() + "'");
  const std::string plain = cache_prompt("plain", "");
  auto without = continue_from(plain);
  ASSERT_EQ(without.exit_code, 0) << without.err;
  // No --draft-model: the one the file records is loaded, as its model is.
  auto with = continue_from(both);
  ASSERT_EQ(with.exit_code, 0) << with.err;
  EXPECT_EQ(generated_text(with.out), generated_text(without.out));
  EXPECT_NE(with.out.find("Prompt: 4 tokens"), std::string::npos) << with.out;
  EXPECT_NE(with.out.find("Draft acceptance: "), std::string::npos) << with.out;
  EXPECT_EQ(with.err, "");
  // Naming the same draft is fine; another one is refused, as another --model is.
  auto same = continue_from(both, "--draft-model '" + draft() + "'");
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_EQ(generated_text(same.out), generated_text(with.out));
  auto other = continue_from(both, "--draft-model '" + testing::tinystories_dir() + "'");
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("Providing a different draft model (" + testing::tinystories_dir() +
                           ") than that used to create the prompt cache (" + draft() + ")"),
            std::string::npos)
      << other.err;
}

TEST_F(DraftPromptCacheCli, AFileWithoutDraftLayersStillDecodesWithADraft) {
  const std::string plain = cache_prompt("plain", "");
  auto without = continue_from(plain);
  auto with = continue_from(plain, "--draft-model '" + draft() + "'");
  ASSERT_EQ(with.exit_code, 0) << with.err;
  EXPECT_EQ(generated_text(with.out), generated_text(without.out));
  EXPECT_NE(with.err.find("holds no draft-model layers"), std::string::npos) << with.err;
}

TEST_F(DraftPromptCacheCli, AChangedDraftIsRefused) {
  namespace fs = std::filesystem;
  const std::string changed = dir_->file("changed-draft");
  fs::copy(draft(), changed);
  const std::string file = cache_prompt("changed", "--draft-model '" + changed + "'");
  std::ofstream(changed + "/config.json", std::ios::app) << "\n";
  auto r = continue_from(file);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the prompt cache does not fit the loaded draft model: config.json differs"),
            std::string::npos)
      << r.err;
}

TEST_F(DraftPromptCacheCli, AMissingRecordedDraftSaysWhereItCameFrom) {
  namespace fs = std::filesystem;
  const std::string moved = dir_->file("moved-draft");
  fs::copy(draft(), moved);
  const std::string file = cache_prompt("moved", "--draft-model '" + moved + "'");
  fs::remove_all(moved);
  auto r = continue_from(file);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the draft model " + file + " was made with cannot be loaded: "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("not found: " + moved), std::string::npos) << r.err;
}

TEST_F(DraftPromptCacheCli, MaxKvSizeExcludesADraft) {
  auto r = run_mlxlm("cache-prompt --prompt x --prompt-cache-file '" + dir_->file("x") +
                     "' --max-kv-size 32 --draft-model '" + draft() + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("excludes"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_->file("x.safetensors")));
}

}  // namespace
}  // namespace mlxlm
