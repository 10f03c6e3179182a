#include "engine/chat_prompt.h"

#include "base/error.h"
#include "chat/chat_template.h"

namespace mlxlm {
namespace {

// mlx-lm passes enable_thinking = True when the vocabulary has <think> and </think>.
bool has_thinking(const Tokenizer& tokenizer) {
  return tokenizer.token_to_id("<think>").has_value() &&
         tokenizer.token_to_id("</think>").has_value();
}

}  // namespace

bool has_chat_template(const LoadedModel& model) {
  return !chat::load_tokenizer_chat_config(model.path).chat_template.empty();
}

std::string render_chat_prompt(const LoadedModel& model, const std::string& prompt,
                               const ChatPromptOptions& options) {
  chat::TokenizerChatConfig config = chat::load_tokenizer_chat_config(model.path);
  if (config.chat_template.empty()) {
    throw InvalidInput("engine", model.path + " has no chat template");
  }
  OrderedJson messages = OrderedJson::array();
  if (!options.system_prompt.empty()) {
    messages.push_back({{"role", "system"}, {"content", options.system_prompt}});
  }
  messages.push_back({{"role", "user"}, {"content", prompt}});
  chat::ChatTemplateOptions t;
  if (options.prefill_response) {
    messages.push_back({{"role", "assistant"}, {"content", *options.prefill_response}});
    t.continue_final_message = true;
  } else {
    t.add_generation_prompt = true;
  }
  t.special_tokens = config.special_tokens;
  t.extra = options.template_kwargs;
  if (!t.extra.contains("enable_thinking") && has_thinking(*model.tokenizer)) {
    t.extra["enable_thinking"] = true;
  }
  return chat::ChatTemplate(config.pick(false)).render(messages, t);
}

std::vector<int32_t> build_prompt_tokens(const LoadedModel& model, const std::string& prompt,
                                         const ChatPromptOptions& options) {
  if (options.ignore_chat_template || !has_chat_template(model)) {
    return encode_prompt(*model.tokenizer, prompt);
  }
  return model.tokenizer->encode(render_chat_prompt(model, prompt, options), false);
}

}  // namespace mlxlm
