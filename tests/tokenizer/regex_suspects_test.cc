// golden/tokenizers/REGEX-SUSPECTS.md lists corpus lines where JavaScript and Oniguruma regexes
// split differently, with the Oniguruma split. Our Split pre-tokenizers must produce that split.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "io/json.h"
#include "testing/shared_data.h"
#include "tokenizer/components.h"

namespace mlxlm {
namespace {

std::map<std::string, std::string> corpus_texts() {
  std::map<std::string, std::string> texts;
  std::ifstream in(testing::shared_path("golden/tokenizers/texts.jsonl"));
  std::string s;
  while (std::getline(in, s)) {
    if (s.empty()) continue;
    Json j = Json::parse(s);
    texts[j.at("id").get<std::string>()] = j.at("text").get<std::string>();
  }
  return texts;
}

// The pre_tokenizer of `name` without its ByteLevel steps (which only remap bytes).
std::unique_ptr<tok::PreTokenizer> split_steps(const std::string& name) {
  std::ifstream in(testing::shared_path("tokenizers/" + name + "/tokenizer.json"));
  Json j = Json::parse(in);
  Json pre = j.at("pre_tokenizer");
  Json steps = Json::array();
  for (const auto& p : pre.at("pretokenizers")) {
    if (p.at("type") != "ByteLevel") steps.push_back(p);
  }
  return tok::make_pre_tokenizer(Json{{"type", "Sequence"}, {"pretokenizers", steps}});
}

TEST(RegexSuspects, SplitsFollowOniguruma) {
  auto texts = corpus_texts();
  std::ifstream in(testing::shared_path("golden/tokenizers/REGEX-SUSPECTS.md"));
  ASSERT_TRUE(in);
  std::string line, current;
  std::map<std::string, std::unique_ptr<tok::PreTokenizer>> cache;
  int checked = 0;
  while (std::getline(in, line)) {
    // "- name: N suspect line(s): ..." opens a tokenizer; "  - id: JS [...] vs Oniguruma [...]"
    // is one line of it.
    if (line.rfind("- ", 0) == 0 && line.find(" suspect") != std::string::npos) {
      current = line.substr(2, line.find(':') - 2);
      continue;
    }
    size_t js = line.find(": JS [");
    size_t vs = line.find("] vs Oniguruma [");
    if (line.rfind("  - ", 0) != 0 || js == std::string::npos || vs == std::string::npos) continue;
    std::string m[4];
    m[1] = line.substr(4, js - 4);
    m[2] = line.substr(js + 5, vs + 1 - (js + 5));
    m[3] = line.substr(vs + 15);
    auto& pre = cache[current];
    if (!pre) pre = split_steps(current);
    // Some suspect lines are not in the shared corpus; the JS split concatenates to the text.
    std::string text;
    for (const auto& piece : Json::parse(m[2])) text += piece.get<std::string>();
    if (texts.count(m[1])) {
      EXPECT_EQ(text, texts.at(m[1]));
    }
    tok::Pieces pieces{text};
    pre->pre_tokenize(pieces, true);
    auto expected = Json::parse(m[3]).get<std::vector<std::string>>();
    EXPECT_EQ(pieces, expected) << current << " " << m[1];
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

}  // namespace
}  // namespace mlxlm
