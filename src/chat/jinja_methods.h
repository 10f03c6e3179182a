#pragma once
// Python methods of str, dict and list that templates call (`s.strip()`, `d.items()`,
// `d.get(k)`...). Methods that would mutate a value exist but refuse to run, as in Jinja2's
// ImmutableSandboxedEnvironment.
#include <set>
#include <string>

#include "chat/jinja_interpreter.h"
#include "chat/jinja_value.h"

namespace mlxlm::chat::jinja {

enum class MethodKind { None, Safe, Mutating };

// Whether `self` (a str, dict, list or tuple) has a Python method called `name`.
MethodKind method_kind(const Value& self, const std::string& name);

Value call_method(Interpreter& interp, const Value& self, const std::string& name, CallArgs& args);

// The str half (jinja_str_methods.cc).
const std::set<std::string>& string_method_names();
Value call_string_method(Interpreter& interp, const std::string& s, const std::string& name,
                         CallArgs& args);

}  // namespace mlxlm::chat::jinja
