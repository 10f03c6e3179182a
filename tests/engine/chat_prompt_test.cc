// mlx_lm.generate's prompt construction: chat template with system prompt, generation prompt or
// assistant prefill, extra variables; raw encoding when there is no template or it is ignored.
#include <gtest/gtest.h>

#include <filesystem>

#include "base/mapped_file.h"
#include "engine/chat_prompt.h"
#include "io/json.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

namespace fs = std::filesystem;

// The sample model with a small chat template added to its tokenizer_config.json.
class ChatPromptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& e : fs::directory_iterator(testing::tinystories_dir())) {
      fs::copy_file(e.path(), dir_.file(e.path().filename().string()));
    }
    Json config = read_json_file(dir_.file("tokenizer_config.json"));
    config["chat_template"] =
        "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% if mood is defined %}({{ mood }}){% endif %}"
        "{% endif %}";
    write_file_atomic(dir_.file("tokenizer_config.json"), config.dump());
    model_ = load_model_and_tokenizer(dir_.path());
  }
  testing::TempDir dir_;
  LoadedModel model_;
};

TEST_F(ChatPromptTest, SystemUserAndGenerationPrompt) {
  ChatPromptOptions o;
  o.system_prompt = "Be kind.";
  EXPECT_EQ(render_chat_prompt(model_, "Tell a story", o),
            "<|system|>Be kind.\n<|user|>Tell a story\n<|assistant|>");
  // Encoded without special tokens: no BOS in front.
  auto ids = build_prompt_tokens(model_, "Tell a story", o);
  EXPECT_EQ(ids, model_.tokenizer->encode("<|system|>Be kind.\n<|user|>Tell a story\n<|assistant|>",
                                          false));
  EXPECT_NE(ids.front(), 1);
}

TEST_F(ChatPromptTest, PrefillContinuesTheAssistantMessage) {
  ChatPromptOptions o;
  o.prefill_response = "Once upon";
  // continue_final_message cuts the render right after the final message's content.
  EXPECT_EQ(render_chat_prompt(model_, "Tell a story", o),
            "<|user|>Tell a story\n<|assistant|>Once upon");
}

TEST_F(ChatPromptTest, TemplateConfigAddsVariables) {
  ChatPromptOptions o;
  o.template_kwargs = {{"mood", "happy"}};
  EXPECT_EQ(render_chat_prompt(model_, "hi", o), "<|user|>hi\n<|assistant|>(happy)");
}

TEST_F(ChatPromptTest, IgnoringTheTemplateEncodesRawTextWithSpecialTokens) {
  ChatPromptOptions o;
  o.ignore_chat_template = true;
  auto ids = build_prompt_tokens(model_, "Once upon a time", o);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 80, 147, 201, 282, 57}));  // golden prompt_ids
}

TEST(ChatPrompt, NoTemplateMeansRawPrompt) {
  LoadedModel m = load_model_and_tokenizer(testing::tinystories_dir());
  EXPECT_FALSE(has_chat_template(m));
  EXPECT_EQ(build_prompt_tokens(m, "Once upon a time", {}),
            (std::vector<int32_t>{1, 80, 147, 201, 282, 57}));
}

}  // namespace
}  // namespace mlxlm
