#pragma once
// Jinja2's built-in filters and tests (with transformers' tojson), and the globals a chat
// template can call: range, dict, namespace, cycler, joiner, raise_exception, strftime_now.
#include <string>
#include <unordered_map>

#include "chat/jinja_interpreter.h"
#include "chat/jinja_value.h"

namespace mlxlm::chat::jinja {

using FilterFn = Value (*)(Interpreter&, const Value&, CallArgs&);
using TestFn = bool (*)(Interpreter&, const Value&, CallArgs&);
using FilterTable = std::unordered_map<std::string, FilterFn>;

// nullptr when there is no filter / test of that name.
FilterFn find_filter(const std::string& name);
TestFn find_test(const std::string& name);

// Registration halves of the filter table (jinja_filters*.cc).
void add_string_filters(FilterTable& table);
void add_sequence_filters(FilterTable& table);

void install_globals(Scope& scope);

// Jinja2's attribute getter for filters: "a.b.0" looks up items (then attributes) step by step.
Value get_attribute_path(Interpreter& interp, const Value& item, const std::string& path);

}  // namespace mlxlm::chat::jinja
