#include "base/error.h"
#include "tokenizer/components.h"

namespace mlxlm::tok {

void fail(const std::string& where, const std::string& what) {
  throw InvalidInput("tokenizer", where + ": " + what);
}

std::string json_type(const Json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "expected an object, got " + std::string(j.type_name()));
  auto it = j.find("type");
  if (it == j.end() || !it->is_string()) fail(where, "missing string 'type'");
  return it->get<std::string>();
}

}  // namespace mlxlm::tok
