// ChatTemplate: the variables transformers passes, continue_final_message, and loading the
// template and special tokens from a tokenizer folder.
#include "chat/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>

#include "testing/shared_data.h"

namespace mlxlm::chat {
namespace {

OrderedJson msgs(const char* text) { return parse_ordered_json(text, "test messages"); }

const char* kSimple =
    "{% for m in messages %}<{{ m.role }}>{{ m.content }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<assistant>{% endif %}";

TEST(ChatTemplate, RendersMessagesAndGenerationPrompt) {
  ChatTemplate t(kSimple);
  auto m = msgs(R"([{"role": "user", "content": "hi"}])");
  EXPECT_EQ(t.render(m), "<user>hi</s>");
  ChatTemplateOptions o;
  o.add_generation_prompt = true;
  EXPECT_EQ(t.render(m, o), "<user>hi</s><assistant>");
}

TEST(ChatTemplate, ToolsAreNoneWhenAbsent) {
  ChatTemplate t("{{ tools is none }} {{ tools is defined }} {{ documents is none }}");
  EXPECT_EQ(t.render(msgs("[]")), "True True True");
  ChatTemplate count("{{ tools|length }} {{ tools[0].function.name }}");
  ChatTemplateOptions o;
  o.tools = msgs(R"([{"type": "function", "function": {"name": "f"}}])");
  EXPECT_EQ(count.render(msgs("[]"), o), "1 f");
}

TEST(ChatTemplate, ExtraVariablesAndSpecialTokens) {
  ChatTemplate t(
      "{{ bos_token }}|{{ eos_token is defined }}|{{ enable_thinking }}|{{ pad_token }}");
  ChatTemplateOptions o;
  o.special_tokens["bos_token"] = "<unused>";
  o.special_tokens["pad_token"] = "<pad>";
  o.bos_token = "<s>";
  o.extra = msgs(R"({"enable_thinking": false})");
  EXPECT_EQ(t.render(msgs("[]"), o), "<s>|False|False|<pad>");
  o.eos_token = "</s>";
  EXPECT_EQ(t.render(msgs("[]"), o), "<s>|True|False|<pad>");
}

TEST(ChatTemplate, ToolCallArgumentsKeepTheirKeyOrder) {
  ChatTemplate t("{{ messages[0].tool_calls[0].function.arguments|tojson }}");
  auto m = msgs(R"([{"role": "assistant", "tool_calls": [{"function":
                   {"name": "f", "arguments": {"zeta": 1, "alpha": "x"}}}]}])");
  EXPECT_EQ(t.render(m), R"({"zeta": 1, "alpha": "x"})");
}

TEST(ChatTemplate, ContinueFinalMessageCutsAfterItsContent) {
  ChatTemplateOptions o;
  o.continue_final_message = true;
  auto m =
      msgs(R"([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello  "}])");
  EXPECT_EQ(ChatTemplate(kSimple).render(m, o), "<user>hi</s><assistant>Hello  ");
  // A template that trims the content: the cut falls after the stripped text.
  ChatTemplate trimming(
      "{% for m in messages %}<{{ m.role }}>{{ m.content|trim }}</s>{% endfor %}");
  EXPECT_EQ(trimming.render(m, o), "<user>hi</s><assistant>Hello");
  // Content parts: the last text part is what continues.
  auto parts = msgs(R"([{"role": "assistant", "content": [{"type": "text", "text": "A"},
                                                           {"type": "text", "text": "B"}]}])");
  ChatTemplate joined("{% for p in messages[0].content %}{{ p.text }}{% endfor %}<end>");
  EXPECT_EQ(joined.render(parts, o), "AB");
}

TEST(ChatTemplate, ContinueFinalMessageRejectsGenerationPrompt) {
  ChatTemplateOptions o;
  o.continue_final_message = true;
  o.add_generation_prompt = true;
  EXPECT_THROW(ChatTemplate(kSimple).render(msgs(R"([{"role": "user", "content": "x"}])"), o),
               InvalidInput);
}

TEST(ChatTemplate, LongConversationsFitTheDefaultBudget) {
  // 4,000 messages of 2 KiB: an 8 MiB prompt must render within the default step budget.
  OrderedJson m = OrderedJson::array();
  for (int i = 0; i < 4000; ++i) {
    m.push_back(
        {{"role", i % 2 ? "assistant" : "user"}, {"content", std::string(2048, 'a' + i % 26)}});
  }
  std::string out = ChatTemplate(kSimple).render(m);
  EXPECT_EQ(out.size(), 4000u * 2048u + 2000u * (6 + 4) + 2000u * (11 + 4));
}

TEST(ChatTemplate, SortedJsonMessagesWorkToo) {
  ChatTemplate t(kSimple);
  Json m = Json::parse(R"([{"role": "user", "content": "hi"}])");
  EXPECT_EQ(t.render(m), "<user>hi</s>");
}

TEST(ChatTemplate, DatePinsStrftimeNow) {
  ChatTemplate t("{{ strftime_now('%d %b %Y') }}");
  ChatTemplateOptions o;
  o.date = "2024-02-29";
  EXPECT_EQ(t.render(msgs("[]"), o), "29 Feb 2024");
  o.date = "2023-02-29";
  EXPECT_THROW(t.render(msgs("[]"), o), InvalidInput);
}

TEST(ChatTemplate, SyntaxErrorNamesLineAndColumn) {
  try {
    ChatTemplate t("{% for m in messages %}\n{{ m.content + }}\n{% endfor %}");
    FAIL() << "expected a syntax error";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("line 2, column 16"), std::string::npos) << e.what();
  }
}

TEST(ChatTemplate, RaiseExceptionBecomesInvalidInput) {
  ChatTemplate t("{{ raise_exception('System role not supported') }}");
  try {
    t.render(msgs("[]"));
    FAIL() << "expected an error";
  } catch (const InvalidInput& e) {
    EXPECT_STREQ(e.what(), "[chat] TemplateError: System role not supported");
  }
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(TokenizerChatConfig, ReadsStringTemplateAndTokenObjects) {
  mlxlm::testing::TempDir dir;
  write(dir.file("tokenizer_config.json"),
        R"({"chat_template": "T", "bos_token": {"content": "<s>", "lstrip": false},
            "eos_token": "</s>", "pad_token": null})");
  auto c = load_tokenizer_chat_config(dir.path());
  EXPECT_EQ(c.pick(false), "T");
  EXPECT_EQ(c.special_tokens.at("bos_token"), "<s>");
  EXPECT_EQ(c.special_tokens.at("eos_token"), "</s>");
  EXPECT_EQ(c.special_tokens.count("pad_token"), 0u);
}

TEST(TokenizerChatConfig, NamedTemplatesPickDefaultOrToolUse) {
  mlxlm::testing::TempDir dir;
  write(dir.file("tokenizer_config.json"),
        R"({"chat_template": [{"name": "default", "template": "D"},
                              {"name": "tool_use", "template": "U"}]})");
  auto c = load_tokenizer_chat_config(dir.path());
  EXPECT_EQ(c.pick(false), "D");
  EXPECT_EQ(c.pick(true), "U");
}

TEST(TokenizerChatConfig, ChatTemplateJinjaFileWins) {
  mlxlm::testing::TempDir dir;
  write(dir.file("tokenizer_config.json"), R"({"chat_template": "old"})");
  write(dir.file("chat_template.jinja"), "new");
  EXPECT_EQ(load_tokenizer_chat_config(dir.path()).pick(false), "new");
}

TEST(TokenizerChatConfig, MissingTemplateIsAnError) {
  mlxlm::testing::TempDir dir;
  write(dir.file("tokenizer_config.json"), R"({"eos_token": "</s>"})");
  EXPECT_THROW(load_tokenizer_chat_config(dir.path()).pick(false), InvalidInput);
  EXPECT_THROW(load_tokenizer_chat_config(dir.file("nope")), FileError);
}

TEST(TokenizerChatConfig, RealTokenizers) {
  auto gptoss = load_tokenizer_chat_config(mlxlm::testing::shared_path("tokenizers/gptoss"));
  EXPECT_NE(gptoss.chat_template.find("<|start|>"), std::string::npos);
  EXPECT_EQ(gptoss.special_tokens.at("eos_token"), "<|return|>");
  auto ds = load_tokenizer_chat_config(mlxlm::testing::shared_path("tokenizers/deepseek_v3"));
  EXPECT_EQ(ds.special_tokens.at("bos_token"), "<｜begin▁of▁sentence｜>");
  auto qwen = load_tokenizer_chat_config(mlxlm::testing::shared_path("tokenizers/qwen3"));
  EXPECT_EQ(qwen.special_tokens.count("bos_token"), 0u);
}

}  // namespace
}  // namespace mlxlm::chat
