#pragma once
// The `tojson` filter as transformers defines it: Python's json.dumps(x, ensure_ascii=False,
// indent=indent, separators=separators, sort_keys=sort_keys), so key order, spacing, escaping
// and float spelling match the reference byte for byte. Also the conversion of nlohmann JSON
// (messages, tools, extra variables) into template values.
#include <optional>
#include <string>
#include <utility>

#include "chat/jinja_value.h"
#include "io/json.h"

namespace mlxlm::chat::jinja {

struct JsonDumpOptions {
  // Spaces (or the given string) per level; nullopt = everything on one line.
  std::optional<std::string> indent;
  // (item separator, key separator); nullopt = Python's defaults for the chosen indent.
  std::optional<std::pair<std::string, std::string>> separators;
  bool sort_keys = false;
  bool ensure_ascii = false;
};

std::string json_dumps(const Value& v, const JsonDumpOptions& options);

Value from_json(const OrderedJson& j);
Value from_json(const Json& j);

}  // namespace mlxlm::chat::jinja
