// Jinja2's tests (`x is defined`, `x is string`, `x is divisibleby 3`...), and the lookup of
// tests and filters by name.
#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"
#include "chat/jinja_objects.h"
#include "chat/jinja_operators.h"
#include "chat/jinja_pyformat.h"
#include "chat/jinja_unicode.h"

namespace mlxlm::chat::jinja {

namespace {

const Value& one_arg(const CallArgs& args, const char* test) {
  if (args.positional.size() != 1 || !args.keywords.empty()) {
    raise_type_error(std::string("test '") + test + "' takes exactly one argument");
  }
  return args.positional[0];
}

bool t_defined(Interpreter&, const Value& v, CallArgs&) { return !v.is_undefined(); }
bool t_undefined(Interpreter&, const Value& v, CallArgs&) { return v.is_undefined(); }
bool t_none(Interpreter&, const Value& v, CallArgs&) { return v.is_none(); }
bool t_boolean(Interpreter&, const Value& v, CallArgs&) { return v.is_bool(); }
bool t_true(Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); }
bool t_false(Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && !v.as_bool(); }
bool t_integer(Interpreter&, const Value& v, CallArgs&) { return v.is_int(); }
bool t_float(Interpreter&, const Value& v, CallArgs&) { return v.is_float(); }
bool t_number(Interpreter&, const Value& v, CallArgs&) { return v.is_number(); }
bool t_string(Interpreter&, const Value& v, CallArgs&) { return v.is_string(); }
bool t_mapping(Interpreter&, const Value& v, CallArgs&) { return v.is_dict(); }
bool t_escaped(Interpreter&, const Value&, CallArgs&) { return false; }

// Python objects with __iter__: Jinja's Undefined and loop object included.
bool t_iterable(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_object()) return v.as_object()->type_name() == "LoopContext";
  return v.is_undefined() || v.is_string() || v.is_sequence() || v.is_dict();
}

// len() and __getitem__: str, list, tuple, dict and (oddly) Undefined.
bool t_sequence(Interpreter&, const Value& v, CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_sequence() || v.is_dict();
}

bool t_callable(Interpreter&, const Value& v, CallArgs&) {
  return v.is_undefined() || (v.is_object() && v.as_object()->callable());
}

bool t_lower(Interpreter& interp, const Value& v, CallArgs&) {
  CallArgs none;
  return interp.call(interp.getattr(Value(py_str(v)), "islower"), none).truthy();
}

bool t_upper(Interpreter& interp, const Value& v, CallArgs&) {
  CallArgs none;
  return interp.call(interp.getattr(Value(py_str(v)), "isupper"), none).truthy();
}

Value modulo(Interpreter& interp, const Value& v, const Value& n) {
  return binary_op(interp, "%", v, n);
}

bool t_odd(Interpreter& interp, const Value& v, CallArgs&) {
  return py_equal(modulo(interp, v, Value(int64_t{2})), Value(int64_t{1}));
}
bool t_even(Interpreter& interp, const Value& v, CallArgs&) {
  return py_equal(modulo(interp, v, Value(int64_t{2})), Value(int64_t{0}));
}
bool t_divisibleby(Interpreter& interp, const Value& v, CallArgs& a) {
  return py_equal(modulo(interp, v, one_arg(a, "divisibleby")), Value(int64_t{0}));
}

bool t_eq(Interpreter&, const Value& v, CallArgs& a) {
  return compare_op("==", v, one_arg(a, "eq"));
}
bool t_ne(Interpreter&, const Value& v, CallArgs& a) {
  return compare_op("!=", v, one_arg(a, "ne"));
}
bool t_lt(Interpreter&, const Value& v, CallArgs& a) {
  return compare_op("<", v, one_arg(a, "lt"));
}
bool t_le(Interpreter&, const Value& v, CallArgs& a) {
  return compare_op("<=", v, one_arg(a, "le"));
}
bool t_gt(Interpreter&, const Value& v, CallArgs& a) {
  return compare_op(">", v, one_arg(a, "gt"));
}
bool t_ge(Interpreter&, const Value& v, CallArgs& a) {
  return compare_op(">=", v, one_arg(a, "ge"));
}
bool t_in(Interpreter&, const Value& v, CallArgs& a) { return contains(one_arg(a, "in"), v); }

// Python `is`: the same object. Scalars compare by value as CPython caches them.
bool t_sameas(Interpreter&, const Value& v, CallArgs& a) {
  const Value& o = one_arg(a, "sameas");
  if (v.kind() != o.kind()) return false;
  switch (v.kind()) {
    case Value::Kind::None:
    case Value::Kind::Undefined:
      return true;
    case Value::Kind::Bool:
    case Value::Kind::Int:
    case Value::Kind::Float:
    case Value::Kind::String:
      return py_equal(v, o);
    case Value::Kind::List:
    case Value::Kind::Tuple:
      return &v.as_list() == &o.as_list();
    case Value::Kind::Dict:
      return &v.as_dict() == &o.as_dict();
    case Value::Kind::Object:
      return v.as_object() == o.as_object();
  }
  return false;
}

bool t_filter(Interpreter&, const Value& v, CallArgs&) {
  return v.is_string() && find_filter(v.as_string()) != nullptr;
}
bool t_test(Interpreter&, const Value& v, CallArgs&) {
  return v.is_string() && find_test(v.as_string()) != nullptr;
}

const std::unordered_map<std::string, TestFn>& test_table() {
  static const std::unordered_map<std::string, TestFn> t = {
      {"defined", t_defined},
      {"undefined", t_undefined},
      {"none", t_none},
      {"boolean", t_boolean},
      {"true", t_true},
      {"false", t_false},
      {"integer", t_integer},
      {"float", t_float},
      {"number", t_number},
      {"string", t_string},
      {"mapping", t_mapping},
      {"iterable", t_iterable},
      {"sequence", t_sequence},
      {"callable", t_callable},
      {"escaped", t_escaped},
      {"lower", t_lower},
      {"upper", t_upper},
      {"odd", t_odd},
      {"even", t_even},
      {"divisibleby", t_divisibleby},
      {"eq", t_eq},
      {"equalto", t_eq},
      {"==", t_eq},
      {"ne", t_ne},
      {"!=", t_ne},
      {"lt", t_lt},
      {"lessthan", t_lt},
      {"<", t_lt},
      {"le", t_le},
      {"<=", t_le},
      {"gt", t_gt},
      {"greaterthan", t_gt},
      {">", t_gt},
      {"ge", t_ge},
      {">=", t_ge},
      {"in", t_in},
      {"sameas", t_sameas},
      {"filter", t_filter},
      {"test", t_test},
  };
  return t;
}

const FilterTable& filter_table() {
  static const FilterTable t = [] {
    FilterTable table;
    add_string_filters(table);
    add_sequence_filters(table);
    return table;
  }();
  return t;
}

}  // namespace

FilterFn find_filter(const std::string& name) {
  auto it = filter_table().find(name);
  return it == filter_table().end() ? nullptr : it->second;
}

TestFn find_test(const std::string& name) {
  auto it = test_table().find(name);
  return it == test_table().end() ? nullptr : it->second;
}

Value Interpreter::apply_filter(const std::string& name, const Value& value, CallArgs& args) {
  FilterFn f = find_filter(name);
  if (f == nullptr) raise("TemplateAssertionError", "No filter named '" + name + "'.");
  tick();
  return f(*this, value, args);
}

bool Interpreter::apply_test(const std::string& name, const Value& value, CallArgs& args) {
  TestFn t = find_test(name);
  if (t == nullptr) raise("TemplateAssertionError", "No test named '" + name + "'.");
  tick();
  return t(*this, value, args);
}

}  // namespace mlxlm::chat::jinja
