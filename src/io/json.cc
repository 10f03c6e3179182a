#include "io/json.h"

#include "base/mapped_file.h"

namespace mlxlm {
namespace {
template <typename J>
J parse_as(std::string_view text, const std::string& what) {
  try {
    return J::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    throw InvalidInput(
        "json", what + ": malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  }
}
}  // namespace

Json parse_json(std::string_view text, const std::string& what) {
  return parse_as<Json>(text, what);
}

OrderedJson parse_ordered_json(std::string_view text, const std::string& what) {
  return parse_as<OrderedJson>(text, what);
}

Json read_json_file(const std::string& path) { return parse_json(read_file(path), path); }

}  // namespace mlxlm
