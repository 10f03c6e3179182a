// `mlxlm chat-template`: renders conversations (the golden chats.jsonl format) with a
// tokenizer's chat template and prints {"id","prompt"} or {"id","error"} per line.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "base/error.h"
#include "base/mapped_file.h"
#include "chat/chat_template.h"
#include "chat/jinja_error.h"
#include "cli_common.h"
#include "commands.h"
#include "io/json.h"

namespace mlxlm::cli {

namespace {

std::string error_text(const std::exception& e) {
  if (const auto* r = dynamic_cast<const chat::jinja::RenderError*>(&e)) return r->detail();
  return e.what();
}

OrderedJson render_chat(const chat::ChatTemplate& tmpl, const chat::TokenizerChatConfig& config,
                        const OrderedJson& chat, const std::string& date) {
  OrderedJson out = OrderedJson::object();
  out["id"] = chat.contains("id") ? chat["id"] : OrderedJson(nullptr);
  try {
    chat::ChatTemplateOptions options;
    options.special_tokens = config.special_tokens;
    if (chat.contains("tools")) options.tools = chat["tools"];
    options.add_generation_prompt = chat.value("add_generation_prompt", false);
    options.continue_final_message = chat.value("continue_final_message", false);
    if (chat.contains("kwargs") && chat["kwargs"].is_object()) options.extra = chat["kwargs"];
    if (!date.empty()) options.date = date;
    if (!chat.contains("messages")) throw InvalidInput("chat", "line has no \"messages\"");
    out["prompt"] = tmpl.render(chat.at("messages"), options);
  } catch (const std::exception& e) {
    out["error"] = error_text(e);
  }
  return out;
}

}  // namespace

int run_chat_template(int argc, char** argv) {
  CLI::App app{"Render chat conversations with a tokenizer's chat template"};
  std::string tokenizer_dir;
  std::string template_file;
  std::string jsonl;
  std::string date;
  app.add_option("--tokenizer", tokenizer_dir, "tokenizer folder (tokenizer_config.json)")
      ->required();
  app.add_option("--template", template_file, "Jinja file to use instead of the tokenizer's");
  app.add_option("--jsonl", jsonl, "conversations, one JSON object per line")->required();
  app.add_option("--date", date, "date strftime_now() reports, YYYY-MM-DD")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            try {
              chat::parse_date(value);
              return {};
            } catch (const InvalidInput& e) {
              return e.what();
            }
          },
          "YYYY-MM-DD"));
  if (auto status = parse_flags(app, argc, argv)) return *status;
  return run_guarded("chat-template", [&] {
    chat::TokenizerChatConfig config = chat::load_tokenizer_chat_config(tokenizer_dir);
    std::ifstream in(jsonl);
    if (!in) throw FileError("chat-template", "cannot open " + jsonl);
    std::unique_ptr<chat::ChatTemplate> fixed;
    if (!template_file.empty())
      fixed = std::make_unique<chat::ChatTemplate>(read_file(template_file));
    std::unique_ptr<chat::ChatTemplate> plain;
    std::unique_ptr<chat::ChatTemplate> tool_use;
    std::string line;
    size_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      OrderedJson chat;
      try {
        chat = parse_ordered_json(line, jsonl + " line " + std::to_string(line_no));
        if (!chat.is_object()) throw InvalidInput("chat-template", "line is not a JSON object");
      } catch (const std::exception& e) {
        OrderedJson out = {{"id", nullptr}, {"error", error_text(e)}};
        std::cout << out.dump(-1, ' ', false, OrderedJson::error_handler_t::replace) << "\n";
        continue;
      }
      const chat::ChatTemplate* tmpl = fixed.get();
      if (tmpl == nullptr) {
        // The tool_use variant applies only to conversations with tools (transformers' rule).
        bool has_tools = chat.contains("tools") && !chat["tools"].is_null() &&
                         config.named_templates.count("tool_use") > 0;
        auto& slot = has_tools ? tool_use : plain;
        if (!slot) slot = std::make_unique<chat::ChatTemplate>(config.pick(has_tools));
        tmpl = slot.get();
      }
      std::cout << render_chat(*tmpl, config, chat, date)
                       .dump(-1, ' ', false, OrderedJson::error_handler_t::replace)
                << "\n";
    }
    std::cout.flush();
    return 0;
  });
}

}  // namespace mlxlm::cli
