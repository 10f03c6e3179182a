#pragma once
// Errors raised while rendering. Their text reads like the Python exception Jinja2 would raise
// ("TypeError: can only concatenate str (not \"list\") to str"), so a failing render can be
// compared with what transformers reports.
#include <string>

#include "base/error.h"

namespace mlxlm::chat::jinja {

class RenderError : public InvalidInput {
 public:
  RenderError(const std::string& python_type, const std::string& message)
      : InvalidInput("chat", python_type + ": " + message), detail_(python_type + ": " + message) {}
  // The message without the "[chat] " prefix.
  const std::string& detail() const { return detail_; }

 private:
  std::string detail_;
};

[[noreturn]] inline void raise(const std::string& python_type, const std::string& message) {
  throw RenderError(python_type, message);
}

[[noreturn]] inline void raise_type_error(const std::string& message) {
  throw RenderError("TypeError", message);
}

}  // namespace mlxlm::chat::jinja
