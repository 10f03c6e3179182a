// Malformed tokenizer.json files: each must fail with InvalidInput naming the component, never
// crash or hang.
#include <gtest/gtest.h>

#include <fstream>

#include "base/error.h"
#include "testing/shared_data.h"
#include "tokenizer/tokenizer.h"

namespace mlxlm {
namespace {

// A small valid byte-level BPE tokenizer.json that each test breaks in one place.
const char* kValid = R"({
  "version": "1.0",
  "added_tokens": [{"id": 5, "content": "<s>", "special": true, "single_word": false, "lstrip": false,
                    "rstrip": false, "normalized": false}],
  "normalizer": null,
  "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\s+|\\S+"}, "behavior": "Isolated", "invert": false},
  "post_processor": null,
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "c": 3, "abc": 4}, "merges": ["a b", "ab c"]}
})";

std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  size_t pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

// Loads `json` as tokenizer.json and returns the InvalidInput message ("" if it loaded).
std::string load_error(const std::string& json) {
  testing::TempDir dir;
  std::ofstream(dir.file("tokenizer.json")) << json;
  try {
    Tokenizer::load(dir.path());
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "";
}

TEST(MalformedTokenizerJson, ValidBaselineLoadsAndEncodes) {
  testing::TempDir dir;
  std::ofstream(dir.file("tokenizer.json")) << kValid;
  auto tok = Tokenizer::load(dir.path());
  EXPECT_EQ(tok->encode("abc<s>ab", true), (std::vector<int32_t>{4, 5, 2}));
}

TEST(MalformedTokenizerJson, MissingModel) {
  std::string json =
      replace_once(kValid, R"("model": {"type": "BPE")", R"("not_model": {"type": "BPE")");
  std::string msg = load_error(json);
  EXPECT_NE(msg.find("[tokenizer]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model"), std::string::npos) << msg;
}

TEST(MalformedTokenizerJson, UnknownModelType) {
  std::string msg = load_error(replace_once(kValid, R"("type": "BPE")", R"("type": "Magic")"));
  EXPECT_NE(msg.find("unknown model type 'Magic'"), std::string::npos) << msg;
}

TEST(MalformedTokenizerJson, UnknownPreTokenizerType) {
  std::string msg = load_error(replace_once(kValid, R"("type": "Split")", R"("type": "Splitz")"));
  EXPECT_NE(msg.find("pre_tokenizer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Splitz"), std::string::npos) << msg;
}

TEST(MalformedTokenizerJson, UnknownNormalizerType) {
  std::string msg =
      load_error(replace_once(kValid, R"("normalizer": null)", R"("normalizer": {"type": "NFX"})"));
  EXPECT_NE(msg.find("normalizer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("NFX"), std::string::npos) << msg;
}

TEST(MalformedTokenizerJson, UnknownDecoderType) {
  std::string msg =
      load_error(replace_once(kValid, R"({"type": "ByteLevel"})",
                              R"({"type": "Sequence", "decoders": [{"type": "Nope"}]})"));
  EXPECT_NE(msg.find("decoder.decoders[0]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Nope"), std::string::npos) << msg;
}

TEST(MalformedTokenizerJson, UnknownPostProcessorType) {
  std::string msg = load_error(
      replace_once(kValid, R"("post_processor": null)", R"("post_processor": {"type": "Wat"})"));
  EXPECT_NE(msg.find("post_processor"), std::string::npos) << msg;
}

TEST(MalformedTokenizerJson, BadRegex) {
  std::string msg = load_error(replace_once(kValid, R"(\\s+|\\S+)", R"((\\s+|[\\S+)"));
  EXPECT_NE(msg.find("pre_tokenizer.pattern"), std::string::npos) << msg;
  EXPECT_NE(msg.find("invalid regex"), std::string::npos) << msg;
}

TEST(MalformedTokenizerJson, MergeNamesUnknownToken) {
  std::string msg = load_error(replace_once(kValid, R"("ab c")", R"("ab zz")"));
  EXPECT_NE(msg.find("model (BPE).merges[1]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'zz'"), std::string::npos) << msg;
}

TEST(MalformedTokenizerJson, MergeMakesUnknownToken) {
  std::string msg = load_error(replace_once(kValid, R"("abc": 4)", R"("abd": 4)"));
  EXPECT_NE(msg.find("merges[1]"), std::string::npos) << msg;
}

TEST(MalformedTokenizerJson, TruncatedJson) {
  std::string json = kValid;
  std::string msg = load_error(json.substr(0, json.size() / 2));
  EXPECT_NE(msg.find("tokenizer.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("invalid JSON"), std::string::npos) << msg;
}

TEST(MalformedTokenizerJson, EveryTruncationFailsCleanly) {
  std::string json = kValid;
  for (size_t n = 0; n < json.size(); n += 7) {
    EXPECT_NE(load_error(json.substr(0, n)), "") << n;
  }
}

TEST(MalformedTokenizerJson, WrongTypeOfField) {
  std::string msg = load_error(replace_once(kValid, R"("invert": false)", R"("invert": "no")"));
  EXPECT_NE(msg.find("pre_tokenizer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("invert"), std::string::npos) << msg;
}

TEST(MalformedTokenizerJson, VocabIdNotInteger) {
  std::string msg = load_error(replace_once(kValid, R"("c": 3)", R"("c": "three")"));
  EXPECT_NE(msg.find("model (BPE).vocab"), std::string::npos) << msg;
}

TEST(MalformedTokenizerJson, AddedTokenWithoutContent) {
  std::string msg = load_error(replace_once(kValid, R"("content": "<s>",)", ""));
  EXPECT_NE(msg.find("added_tokens[0]"), std::string::npos) << msg;
}

TEST(MalformedTokenizerJson, TemplateNamesUnknownSpecialToken) {
  std::string msg = load_error(replace_once(
      kValid, R"("post_processor": null)",
      R"("post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<x>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {}})"));
  EXPECT_NE(msg.find("post_processor.single[0]"), std::string::npos) << msg;
}

TEST(MalformedTokenizerJson, MissingDirectoryIsFileError) {
  EXPECT_THROW(Tokenizer::load("/nonexistent/tokenizer/dir"), FileError);
}

}  // namespace
}  // namespace mlxlm
