// Every golden conversation rendered through ChatTemplate must equal what transformers (Python
// Jinja2 3.1.6) produced, or fail where it failed.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>

#include "base/mapped_file.h"
#include "chat/chat_template.h"
#include "io/json.h"
#include "testing/shared_data.h"

namespace mlxlm::chat {
namespace {

struct GoldenCase {
  std::string name;
  std::string tokenizer;  // folder under shared/tokenizers giving the special tokens
  bool own_template;      // template from the tokenizer folder, else chat_templates/<name>.jinja
};

// Templates from shared/chat_templates are paired with the tokenizer of the same model family
// for their bos/eos strings (the goldens' source.json files are not shipped; these pairings
// reproduce the special tokens visible in the golden prompts).
std::vector<GoldenCase> cases() {
  return {
      {"deepseek_v3", "deepseek_v3", true},
      {"gemma3", "gemma3", true},
      {"gptoss", "gptoss", true},
      {"llama3", "llama3", true},
      {"llama3_1", "llama3_1", true},
      {"qwen3", "qwen3", true},
      {"Mistral-Small-3.2-24B-Instruct-2506", "llama2", false},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", "llama3_1", false},
      {"Qwen-QwQ-32B", "qwen3", false},
      {"Qwen-Qwen2.5-7B-Instruct", "qwen3", false},
      {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", "deepseek_v3", false},
      {"deepseek-ai-DeepSeek-V3.1", "deepseek_v3", false},
      {"google-gemma-2-2b-it", "gemma3", false},
      {"ibm-granite-granite-3.3-2B-Instruct", "qwen3", false},
      {"meta-llama-Llama-3.1-8B-Instruct", "llama3_1", false},
      {"meta-llama-Llama-3.2-3B-Instruct", "llama3_1", false},
      {"microsoft-Phi-3.5-mini-instruct", "gpt4o", false},
      {"mistralai-Mistral-Nemo-Instruct-2407", "llama2", false},
      {"moonshotai-Kimi-K2", "qwen3", false},
  };
}

std::vector<OrderedJson> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<OrderedJson> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(parse_ordered_json(line, path));
  }
  return out;
}

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, MatchesTransformers) {
  const GoldenCase& c = GetParam();
  TokenizerChatConfig config =
      load_tokenizer_chat_config(mlxlm::testing::shared_path("tokenizers/" + c.tokenizer));
  std::string source =
      c.own_template
          ? config.chat_template
          : read_file(mlxlm::testing::shared_path("chat_templates/" + c.name + ".jinja"));
  ChatTemplate tmpl(source);
  std::string golden_dir =
      c.own_template ? "golden/chat/" + c.name : "golden/chat/templates/" + c.name;
  std::map<std::string, OrderedJson> expected;
  for (auto& g : read_jsonl(mlxlm::testing::shared_path(golden_dir + "/chat.jsonl"))) {
    expected[g["id"].get<std::string>()] = g;
  }
  auto chats = read_jsonl(mlxlm::testing::shared_path("golden/chat/chats.jsonl"));
  ASSERT_EQ(chats.size(), expected.size());
  for (const auto& chat : chats) {
    std::string id = chat["id"].get<std::string>();
    SCOPED_TRACE(c.name + " / " + id);
    ASSERT_TRUE(expected.count(id));
    const OrderedJson& want = expected[id];
    ChatTemplateOptions options;
    options.special_tokens = config.special_tokens;
    options.add_generation_prompt = chat.value("add_generation_prompt", false);
    options.continue_final_message = chat.value("continue_final_message", false);
    if (chat.contains("tools")) options.tools = chat["tools"];
    if (chat.contains("kwargs")) options.extra = chat["kwargs"];
    options.date = "2025-06-15";
    if (want.contains("error")) {
      try {
        std::string got = tmpl.render(chat["messages"], options);
        ADD_FAILURE() << "expected error '" << want["error"].get<std::string>()
                      << "', got prompt:\n"
                      << got;
      } catch (const InvalidInput& e) {
        EXPECT_NE(std::string(e.what()).find(want["error"].get<std::string>()), std::string::npos)
            << e.what();
      }
    } else {
      EXPECT_EQ(tmpl.render(chat["messages"], options), want["prompt"].get<std::string>());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTemplates, GoldenTest, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) {
                           std::string n = info.param.name;
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace mlxlm::chat
