#pragma once
// JSON parsing with errors that name the file and the byte offset, and typed field access
// with errors that name the key.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/error.h"

namespace mlxlm {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// Parses `text`; `what` names the source (a path) in the error message.
Json parse_json(std::string_view text, const std::string& what);
OrderedJson parse_ordered_json(std::string_view text, const std::string& what);
// Reads and parses a JSON file.
Json read_json_file(const std::string& path);

// obj[key] as T, or `fallback` when absent or null; a present value of the wrong type throws
// InvalidInput naming `what` and the key.
template <typename T>
T json_get(const Json& obj, const std::string& key, const T& fallback, const std::string& what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw InvalidInput("config", what + ": key '" + key + "' has the wrong type (" +
                                     std::string(it->type_name()) + ")");
  }
}

// obj[key] as T; a missing key throws InvalidInput naming `what` and the key.
template <typename T>
T json_require(const Json& obj, const std::string& key, const std::string& what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    throw InvalidInput("config", what + ": missing required key '" + key + "'");
  }
  return json_get<T>(obj, key, T{}, what);
}

}  // namespace mlxlm
