// `mlxlm tokenize`: encode/decode with a tokenizer directory, over a JSONL corpus
// ({"id","text","add_special_tokens"} in, {"id","ids","decoded","decoded_skip_special"} out)
// or a single --text for a quick look.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "base/error.h"
#include "cli_common.h"
#include "commands.h"
#include "io/json.h"
#include "tokenizer/tokenizer.h"

namespace mlxlm::cli {
namespace {

int run_jsonl(const Tokenizer& tok, const std::string& path) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) throw FileError("tokenize", "cannot read " + path);
    in = &file;
  }
  std::string line;
  size_t lineno = 0;
  while (std::getline(*in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json j = parse_json(line, path + ":" + std::to_string(lineno));
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string()) {
      throw InvalidInput("tokenize", path + ":" + std::to_string(lineno) +
                                         ": expected an object with a string 'text'");
    }
    bool add_special = j.value("add_special_tokens", true);
    auto ids = tok.encode(j["text"].get<std::string>(), add_special);
    Json out = Json::object();
    out["id"] = j.contains("id") ? j["id"] : Json(nullptr);
    out["ids"] = ids;
    out["decoded"] = tok.decode(ids, false);
    out["decoded_skip_special"] = tok.decode(ids, true);
    std::cout << out.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
  }
  return 0;
}

int run_text(const Tokenizer& tok, const std::string& text, bool add_special) {
  auto ids = tok.encode(text, add_special);
  Json tokens = Json::array();
  for (int32_t id : ids) tokens.push_back(tok.id_to_token(id).value_or(""));
  std::cout << "ids: " << Json(ids).dump() << '\n';
  std::cout << "tokens: " << tokens.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
  std::cout << "count: " << ids.size() << '\n';
  std::cout << "decoded: "
            << Json(tok.decode(ids, false)).dump(-1, ' ', false, Json::error_handler_t::replace)
            << '\n';
  return 0;
}

}  // namespace

int run_tokenize(int argc, char** argv) {
  CLI::App app{"Tokenize text with a Hugging Face tokenizer directory", "mlxlm tokenize"};
  std::string dir, jsonl, text;
  bool no_special = false;
  app.add_option("--tokenizer,-t", dir, "directory with tokenizer.json (and tokenizer_config.json)")
      ->required();
  auto* jsonl_opt = app.add_option(
      "--jsonl", jsonl, "JSONL file of {\"id\",\"text\",\"add_special_tokens\"} ('-' = stdin)");
  auto* text_opt = app.add_option("--text", text, "a single text: print its ids and tokens");
  app.add_flag("--no-special-tokens", no_special, "with --text: do not add special tokens");
  jsonl_opt->excludes(text_opt);
  if (auto status = parse_flags(app, argc, argv)) return *status;
  if (jsonl.empty() && !text_opt->count()) {
    std::fprintf(stderr, "mlxlm tokenize: give --jsonl FILE or --text TEXT\n");
    return 2;
  }
  return run_guarded("tokenize", [&] {
    auto tok = Tokenizer::load(dir);
    if (!jsonl.empty()) return run_jsonl(*tok, jsonl);
    return run_text(*tok, text, !no_special);
  });
}

}  // namespace mlxlm::cli
