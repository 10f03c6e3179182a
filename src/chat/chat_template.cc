#include "chat/chat_template.h"

#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "base/mapped_file.h"
#include "chat/jinja_error.h"
#include "chat/jinja_json.h"
#include "chat/jinja_template.h"
#include "chat/jinja_unicode.h"

namespace mlxlm::chat {

namespace {

// transformers' continue_final_message: find the final message's (last text part's) content in
// the rendered text and cut right after it, keeping the template's own trailing markup out.
std::string cut_after_final_message(const std::string& rendered, const jinja::Value& messages) {
  using jinja::Value;
  if (!messages.is_sequence() || messages.as_list().empty()) {
    throw jinja::RenderError("ValueError",
                             "continue_final_message is set but there are no messages");
  }
  const Value& last = messages.as_list().back();
  const Value* content = last.is_dict() ? last.as_dict().find(std::string("content")) : nullptr;
  std::string final_text;
  if (content != nullptr && content->is_sequence()) {
    bool found = false;
    const auto& parts = content->as_list();
    for (auto it = parts.rbegin(); it != parts.rend() && !found; ++it) {
      if (!it->is_dict()) continue;
      if (const Value* text = it->as_dict().find(std::string("text")); text && text->is_string()) {
        final_text = text->as_string();
        found = true;
      }
    }
    if (!found) {
      throw jinja::RenderError("ValueError",
                               "continue_final_message is set but we could not find any text to "
                               "continue in the final message!");
    }
  } else if (content != nullptr && content->is_string()) {
    final_text = content->as_string();
  } else {
    throw jinja::RenderError("ValueError",
                             "continue_final_message is set but the final message has no text");
  }
  std::string stripped = jinja::uni::strip(final_text, nullptr, true, true);
  std::string lstripped = jinja::uni::strip(final_text, nullptr, true, false);
  size_t at = rendered.rfind(stripped);
  if (at == std::string::npos) {
    throw jinja::RenderError(
        "ValueError",
        "continue_final_message is set but the final message does not appear in "
        "the chat after applying the chat template! This can happen if the chat "
        "template deletes portions of the final message.");
  }
  if (rendered.compare(at, lstripped.size(), final_text) == 0) {
    return rendered.substr(0, at + lstripped.size());
  }
  return rendered.substr(0, at + stripped.size());
}

template <typename J>
std::string render_impl(const jinja::Template& tmpl, const J& messages,
                        const ChatTemplateOptions& options) {
  using jinja::Value;
  if (options.continue_final_message && options.add_generation_prompt) {
    throw jinja::RenderError(
        "ValueError",
        "continue_final_message and add_generation_prompt are not compatible: use "
        "continue_final_message to continue the final message, "
        "add_generation_prompt to start a new assistant turn");
  }
  if (!messages.is_array()) throw jinja::RenderError("ValueError", "messages must be a JSON array");
  if (!options.tools.is_null() && !options.tools.is_array()) {
    throw jinja::RenderError("ValueError", "tools must be a JSON array");
  }
  if (!options.extra.is_null() && !options.extra.is_object()) {
    throw jinja::RenderError("ValueError", "extra template variables must be a JSON object");
  }
  jinja::Dict vars;
  for (const auto& [name, token] : options.special_tokens) vars.set(Value(name), Value(token));
  if (options.bos_token) vars.set(Value("bos_token"), Value(*options.bos_token));
  if (options.eos_token) vars.set(Value("eos_token"), Value(*options.eos_token));
  Value message_values = jinja::from_json(messages);
  vars.set(Value("messages"), message_values);
  vars.set(Value("tools"), jinja::from_json(options.tools));
  vars.set(Value("documents"), Value::none());
  vars.set(Value("add_generation_prompt"), Value(options.add_generation_prompt));
  if (options.extra.is_object()) {
    for (auto it = options.extra.begin(); it != options.extra.end(); ++it) {
      vars.set(Value(it.key()), jinja::from_json(it.value()));
    }
  }
  jinja::RenderOptions ro;
  ro.limits = options.limits;
  if (options.date) ro.now = parse_date(*options.date);
  std::string rendered = tmpl.render(vars, ro);
  if (options.continue_final_message) return cut_after_final_message(rendered, message_values);
  return rendered;
}

std::optional<std::string> token_string(const Json& config, const std::string& key) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  return std::nullopt;
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& source)
    : template_(std::make_unique<jinja::Template>(source)) {}
ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const OrderedJson& messages,
                                 const ChatTemplateOptions& options) const {
  return render_impl(*template_, messages, options);
}

std::string ChatTemplate::render(const Json& messages, const ChatTemplateOptions& options) const {
  return render_impl(*template_, messages, options);
}

const std::string& TokenizerChatConfig::pick(bool has_tools) const {
  if (has_tools) {
    auto it = named_templates.find("tool_use");
    if (it != named_templates.end()) return it->second;
  }
  if (chat_template.empty()) {
    throw InvalidInput("chat", "the tokenizer has no chat template");
  }
  return chat_template;
}

TokenizerChatConfig load_tokenizer_chat_config(const std::string& dir) {
  namespace fs = std::filesystem;
  TokenizerChatConfig out;
  fs::path config_path = fs::path(dir) / "tokenizer_config.json";
  Json config = Json::object();
  if (fs::exists(config_path)) config = read_json_file(config_path.string());
  for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token", "sep_token",
                          "cls_token", "mask_token"}) {
    if (auto s = token_string(config, key)) out.special_tokens[key] = *s;
  }
  auto ct = config.find("chat_template");
  if (ct != config.end() && ct->is_string()) {
    out.chat_template = ct->get<std::string>();
  } else if (ct != config.end() && ct->is_array()) {
    for (const auto& entry : *ct) {
      if (!entry.is_object()) continue;
      std::string name = json_get<std::string>(entry, "name", "", config_path.string());
      std::string text = json_get<std::string>(entry, "template", "", config_path.string());
      out.named_templates[name] = text;
    }
    auto def = out.named_templates.find("default");
    if (def != out.named_templates.end()) out.chat_template = def->second;
  }
  fs::path jinja_path = fs::path(dir) / "chat_template.jinja";
  if (fs::exists(jinja_path)) out.chat_template = read_file(jinja_path.string());
  if (!fs::exists(config_path) && !fs::exists(jinja_path)) {
    throw FileError("chat", dir + ": neither tokenizer_config.json nor chat_template.jinja found");
  }
  return out;
}

std::tm parse_date(const std::string& date) {
  std::tm tm{};
  int y = 0;
  int m = 0;
  int d = 0;
  char tail = 0;
  if (std::sscanf(date.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 ||
      d < 1 || d > 31) {
    throw InvalidInput("chat", "date '" + date + "' is not YYYY-MM-DD");
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  std::time_t t = timegm(&tm);  // normalizes and fills tm_wday / tm_yday
  gmtime_r(&t, &tm);
  if (tm.tm_mday != d) throw InvalidInput("chat", "date '" + date + "' does not exist");
  return tm;
}

}  // namespace mlxlm::chat
