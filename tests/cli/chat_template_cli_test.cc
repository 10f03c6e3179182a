// Black-box test of `mlxlm chat-template` on the golden conversations.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include "testing/shared_data.h"

namespace {

struct Result {
  int status = -1;
  std::string out;
};

Result run(const std::string& args) {
  std::string cmd = std::string(MLXLM_BIN) + " " + args + " 2>/dev/null";
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[65536];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

TEST(ChatTemplateCli, GptossGoldenLinesMatch) {
  std::string tok = mlxlm::testing::shared_path("tokenizers/gptoss");
  std::string chats = mlxlm::testing::shared_path("golden/chat/chats.jsonl");
  Result r = run("chat-template --tokenizer " + tok + " --jsonl " + chats + " --date 2025-06-15");
  ASSERT_EQ(r.status, 0);
  std::ifstream golden(mlxlm::testing::shared_path("golden/chat/gptoss/chat.jsonl"));
  std::vector<std::string> got = lines(r.out);
  std::string want;
  size_t i = 0;
  while (std::getline(golden, want)) {
    ASSERT_LT(i, got.size());
    // The golden files were written by Python's json.dumps (", " and ": " separators, \u escapes),
    // so compare the decoded values rather than the bytes.
    auto w = nlohmann::json::parse(want);
    auto g = nlohmann::json::parse(got[i]);
    EXPECT_EQ(g["id"], w["id"]);
    if (w.contains("error")) {
      EXPECT_EQ(g["error"], w["error"]);
    } else {
      EXPECT_EQ(g["prompt"], w["prompt"]);
    }
    ++i;
  }
  EXPECT_EQ(i, got.size());
}

TEST(ChatTemplateCli, TemplateFileOverridesAndBadArguments) {
  mlxlm::testing::TempDir dir;
  std::ofstream(dir.file("t.jinja")) << "{{ bos_token }}{{ messages[0].content|upper }}";
  std::ofstream(dir.file("c.jsonl"))
      << R"({"id": "a", "messages": [{"role": "user", "content": "hi"}]})"
      << "\n"
      << "not json\n";
  std::string tok = mlxlm::testing::shared_path("tokenizers/llama2");
  Result r = run("chat-template --tokenizer " + tok + " --template " + dir.file("t.jinja") +
                 " --jsonl " + dir.file("c.jsonl"));
  ASSERT_EQ(r.status, 0);
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(out[0])["prompt"], "<s>HI");
  EXPECT_TRUE(nlohmann::json::parse(out[1]).contains("error"));
  EXPECT_EQ(run("chat-template --tokenizer " + tok + " --jsonl " + dir.file("c.jsonl") +
                " --date 2025-13-01")
                .status,
            2);
  // A bad flag value is a usage error (2); a template file that does not parse is bad input (1),
  // as in every command.
  std::ofstream(dir.file("bad.jinja")) << "{% if %}";
  EXPECT_EQ(run("chat-template --tokenizer " + tok + " --template " + dir.file("bad.jinja") +
                " --jsonl " + dir.file("c.jsonl"))
                .status,
            1);
}

}  // namespace
