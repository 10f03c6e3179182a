#pragma once
// Python semantics of the operators: arithmetic with int/float/bool promotion, str and list
// concatenation and repetition, comparisons, `in`, and slicing. Type errors read like Python's.
#include <optional>
#include <string>

#include "chat/jinja_interpreter.h"
#include "chat/jinja_value.h"

namespace mlxlm::chat::jinja {

// + - * / // % ** and ~
Value binary_op(Interpreter& interp, const std::string& op, const Value& a, const Value& b);
// == != < > <= >= in notin
bool compare_op(const std::string& op, const Value& a, const Value& b);
// Python `item in container`.
bool contains(const Value& container, const Value& item);
// Python's < for sorting and min/max; raises TypeError for unorderable pairs.
bool py_less(const Value& a, const Value& b);
// Python sequence slicing of a str, list or tuple.
Value slice_value(const Value& v, std::optional<int64_t> start, std::optional<int64_t> stop,
                  std::optional<int64_t> step);
// Raises the UndefinedError an undefined value carries.
[[noreturn]] void fail_undefined(const Value& v);
// Python's printf-style `format % args`.
std::string percent_format(const std::string& format, const Value& args);

}  // namespace mlxlm::chat::jinja
