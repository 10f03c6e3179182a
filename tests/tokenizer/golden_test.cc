// Every line of golden/tokenizers/<name>/tokens.jsonl: ids, decode with and without special
// tokens, and streamed detokenization equal to decode, for the eight reference tokenizers.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "io/json.h"
#include "testing/shared_data.h"
#include "tokenizer/tokenizer.h"

namespace mlxlm {
namespace {

struct Line {
  std::string id;
  std::string text;
  bool add_special_tokens;
  std::vector<int32_t> ids;
  std::string decoded, decoded_skip_special;
};

std::vector<Line> golden_lines(const std::string& name) {
  std::map<std::string, Json> texts;
  std::ifstream tin(testing::shared_path("golden/tokenizers/texts.jsonl"));
  std::string s;
  while (std::getline(tin, s)) {
    if (s.empty()) continue;
    Json j = Json::parse(s);
    texts[j.at("id").get<std::string>()] = j;
  }
  std::vector<Line> lines;
  std::ifstream in(testing::shared_path("golden/tokenizers/" + name + "/tokens.jsonl"));
  while (std::getline(in, s)) {
    if (s.empty()) continue;
    Json j = Json::parse(s);
    Line l;
    l.id = j.at("id").get<std::string>();
    l.text = texts.at(l.id).at("text").get<std::string>();
    l.add_special_tokens = j.at("add_special_tokens").get<bool>();
    l.ids = j.at("ids").get<std::vector<int32_t>>();
    l.decoded = j.at("decoded").get<std::string>();
    l.decoded_skip_special = j.at("decoded_skip_special").get<std::string>();
    lines.push_back(std::move(l));
  }
  return lines;
}

class GoldenTokenizer : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTokenizer, EncodeDecodeMatchGolden) {
  auto tok = Tokenizer::load(testing::shared_path("tokenizers/" + GetParam()));
  auto lines = golden_lines(GetParam());
  ASSERT_FALSE(lines.empty());
  for (const auto& l : lines) {
    EXPECT_EQ(tok->encode(l.text, l.add_special_tokens), l.ids) << GetParam() << " " << l.id;
    EXPECT_EQ(tok->decode(l.ids, false), l.decoded) << GetParam() << " " << l.id;
    EXPECT_EQ(tok->decode(l.ids, true), l.decoded_skip_special) << GetParam() << " " << l.id;
  }
}

TEST_P(GoldenTokenizer, StreamingEqualsDecode) {
  auto tok = Tokenizer::load(testing::shared_path("tokenizers/" + GetParam()));
  auto detok = tok->make_detokenizer();
  for (const auto& l : golden_lines(GetParam())) {
    detok->reset();
    std::string streamed;
    for (int32_t id : l.ids) {
      detok->add_token(id);
      std::string seg = detok->last_segment();
      // A held-back partial character must never come out as U+FFFD early.
      if (seg.find("\xEF\xBF\xBD") != std::string::npos) {
        EXPECT_NE(l.decoded.find("\xEF\xBF\xBD"), std::string::npos) << GetParam() << " " << l.id;
      }
      streamed += seg;
    }
    detok->finalize();
    streamed += detok->last_segment();
    EXPECT_EQ(streamed, l.decoded) << GetParam() << " " << l.id;
    EXPECT_EQ(detok->text(), l.decoded) << GetParam() << " " << l.id;
    EXPECT_EQ(detok->tokens(), l.ids);
  }
}

INSTANTIATE_TEST_SUITE_P(All, GoldenTokenizer,
                         ::testing::Values("llama2", "llama3", "llama3_1", "qwen3", "gemma3",
                                           "deepseek_v3", "gpt4o", "gptoss"));

}  // namespace
}  // namespace mlxlm
