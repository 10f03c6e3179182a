#pragma once
// Turns a user prompt into model tokens the way mlx_lm.generate does (spec 1.1): with a chat
// template, [system?, user, assistant prefill?] rendered as text and encoded without special
// tokens; without one (or when asked to ignore it), the raw text encoded with special tokens.
#include <optional>
#include <string>
#include <vector>

#include "engine/loaded_model.h"
#include "io/json.h"

namespace mlxlm {

struct ChatPromptOptions {
  std::string system_prompt;                    // empty = no system message
  std::optional<std::string> prefill_response;  // the assistant's reply starts with this
  bool ignore_chat_template = false;
  OrderedJson template_kwargs = OrderedJson::object();  // extra variables (--chat-template-config)
};

// True when the tokenizer folder has a chat template.
bool has_chat_template(const LoadedModel& model);

// The rendered prompt text (chat template applied), for display and tests.
std::string render_chat_prompt(const LoadedModel& model, const std::string& prompt,
                               const ChatPromptOptions& options);

std::vector<int32_t> build_prompt_tokens(const LoadedModel& model, const std::string& prompt,
                                         const ChatPromptOptions& options);

}  // namespace mlxlm
