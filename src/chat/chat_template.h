#pragma once
// Hugging Face chat templates rendered the way transformers' apply_chat_template renders them:
// Jinja2 with trim_blocks and lstrip_blocks, `raise_exception` and `strftime_now` globals, the
// tokenizer's special-token strings, messages / tools / add_generation_prompt plus any extra
// variables, and continue_final_message cutting the text after the last message's content.
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "chat/jinja_interpreter.h"
#include "io/json.h"

namespace mlxlm::chat {

namespace jinja {
class Template;
}

struct ChatTemplateOptions {
  // Tool definitions (JSON array of {"type": "function", "function": {...}}). Null: the template
  // sees `tools` as None, as transformers passes it.
  OrderedJson tools = nullptr;
  // Append the header that opens the assistant's turn.
  bool add_generation_prompt = false;
  // Leave the final message open so the model continues it; incompatible with
  // add_generation_prompt.
  bool continue_final_message = false;
  // Extra template variables (a JSON object), e.g. {"enable_thinking": false}; they override
  // the variables above when names clash.
  OrderedJson extra = OrderedJson::object();
  // The tokenizer's BOS / EOS strings; nullopt leaves them to `special_tokens`, and a token
  // given nowhere is undefined in the template (as when the tokenizer has none).
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  // Other special-token strings by variable name (pad_token, unk_token...), as loaded by
  // load_tokenizer_chat_config (which includes bos_token / eos_token).
  std::map<std::string, std::string> special_tokens;
  // The date strftime_now() reports, "YYYY-MM-DD" (midnight); nullopt: the local clock.
  std::optional<std::string> date;
  // Step / depth / size budgets of one render.
  jinja::RenderLimits limits;
};

// A chat template compiled once from its Jinja source; render() is const and thread-safe.
class ChatTemplate {
 public:
  // Syntax errors throw InvalidInput("chat", "... line L, column C: ...").
  explicit ChatTemplate(const std::string& source);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // `messages` is a JSON array of {role, content (string or list of parts), tool_calls,
  // tool_call_id, name, reasoning_content...}. Key order is kept (it shows in `tojson`), so
  // prefer OrderedJson; a Json (sorted keys) works too. Template errors (raise_exception,
  // type errors, budgets) throw InvalidInput("chat", "<PythonError>: message").
  std::string render(const OrderedJson& messages, const ChatTemplateOptions& options = {}) const;
  std::string render(const Json& messages, const ChatTemplateOptions& options = {}) const;

 private:
  std::unique_ptr<jinja::Template> template_;
};

// The chat template and special tokens of a Hugging Face tokenizer folder.
struct TokenizerChatConfig {
  // The default template ("" when the tokenizer has none).
  std::string chat_template;
  // All named templates when tokenizer_config.json lists several ({name, template} entries).
  std::map<std::string, std::string> named_templates;
  // bos_token, eos_token, pad_token, unk_token... as strings (object entries use "content").
  std::map<std::string, std::string> special_tokens;

  // The template transformers would use: "tool_use" when tools are given and it exists,
  // otherwise the default. Throws InvalidInput when there is none.
  const std::string& pick(bool has_tools) const;
};

// Reads `dir`/chat_template.jinja (preferred, as transformers does) or the "chat_template" of
// `dir`/tokenizer_config.json, and the special tokens from tokenizer_config.json.
TokenizerChatConfig load_tokenizer_chat_config(const std::string& dir);

// Parses "YYYY-MM-DD" into a midnight std::tm with weekday and day of year filled in.
std::tm parse_date(const std::string& date);

}  // namespace mlxlm::chat
