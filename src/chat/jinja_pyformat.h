#pragma once
// Python's str() and repr() of template values, which is what `{{ x }}`, `x|string` and `~`
// print: None, True, 1.0, ['a', 'b'], {'k': 1}, ('a', 1).
#include <string>

#include "chat/jinja_value.h"

namespace mlxlm::chat::jinja {

std::string py_str(const Value& v);
std::string py_repr(const Value& v);
// repr() of a str: single quotes unless the text has ' and no ", escapes as Python does.
std::string py_repr_string(const std::string& s);
// repr() of a float: the shortest digits that round-trip, '.0' on integers, e+NN exponents.
std::string py_float_repr(double d);

}  // namespace mlxlm::chat::jinja
