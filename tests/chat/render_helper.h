#pragma once
// Renders a template string with variables given as JSON, configured as transformers does
// (trim_blocks, lstrip_blocks), for the interpreter's unit tests.
#include <string>

#include "chat/jinja_json.h"
#include "chat/jinja_template.h"
#include "io/json.h"

namespace mlxlm::chat::testing {

inline std::string render(const std::string& source, const std::string& vars_json = "{}",
                          const jinja::RenderOptions& options = {}) {
  jinja::Template t(source);
  jinja::Value vars = jinja::from_json(parse_ordered_json(vars_json, "test variables"));
  return t.render(vars.as_dict(), options);
}

// The message of the InvalidInput a render (or parse) throws; "" when it succeeds.
inline std::string render_error(const std::string& source, const std::string& vars_json = "{}",
                                const jinja::RenderOptions& options = {}) {
  try {
    render(source, vars_json, options);
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "";
}

}  // namespace mlxlm::chat::testing
