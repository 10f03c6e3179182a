#pragma once
// A compiled Jinja template: parse once, render many times with different variables.
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "chat/jinja_ast.h"
#include "chat/jinja_interpreter.h"
#include "chat/jinja_lexer.h"
#include "chat/jinja_value.h"

namespace mlxlm::chat::jinja {

struct RenderOptions {
  RenderLimits limits;
  // What strftime_now() reports; nullopt = the local clock.
  std::optional<std::tm> now;
};

class Template {
 public:
  // Parses `source`; syntax errors and unknown filters or tests throw InvalidInput naming the
  // line and column, as Jinja2 rejects them when compiling.
  explicit Template(const std::string& source, const LexerOptions& lexer = {});

  // Renders with `variables` (string keys) on top of the built-in globals. Errors raised while
  // rendering throw RenderError (an InvalidInput) whose text names the Python exception.
  std::string render(const Dict& variables, const RenderOptions& options = {}) const;

 private:
  std::string source_;  // normalized; node offsets point into it
  Body body_;
};

}  // namespace mlxlm::chat::jinja
