#include "chat/jinja_methods.h"

#include <algorithm>
#include <set>

#include "chat/jinja_error.h"
#include "chat/jinja_objects.h"
#include "chat/jinja_operators.h"
#include "chat/jinja_pyformat.h"
#include "chat/jinja_unicode.h"

namespace mlxlm::chat::jinja {

namespace {

const std::set<std::string>& dict_methods() {
  static const std::set<std::string> m = {"get", "items", "keys", "values", "copy"};
  return m;
}
const std::set<std::string>& dict_mutators() {
  static const std::set<std::string> m = {"pop", "popitem", "update", "setdefault", "clear"};
  return m;
}
const std::set<std::string>& list_methods() {
  static const std::set<std::string> m = {"index", "count", "copy"};
  return m;
}
const std::set<std::string>& list_mutators() {
  static const std::set<std::string> m = {"append", "extend",  "insert", "pop",
                                          "remove", "reverse", "sort",   "clear"};
  return m;
}

Value dict_method(const Dict& d, const std::string& name, CallArgs& args) {
  if (name == "get") {
    auto v = bind_args(args, {"key", "default"}, "get", 1);
    const Value& key = v[0];
    if (key.is_list() || key.is_dict())
      raise_type_error("unhashable type: '" + key.type_name() + "'");
    if (const Value* found = d.find(key)) return *found;
    return v[1].is_undefined() ? Value::none() : v[1];
  }
  bind_args(args, {}, name);
  List out;
  for (const auto& [k, val] : d.items()) {
    if (name == "items") {
      out.push_back(Value::tuple({k, val}));
    } else if (name == "keys") {
      out.push_back(k);
    } else {
      out.push_back(val);
    }
  }
  if (name == "copy") return Value::dict(d);
  return Value::list(std::move(out));
}

Value list_method(const Value& self, const std::string& name, CallArgs& args) {
  const List& items = self.as_list();
  if (name == "copy") {
    bind_args(args, {}, name);
    return self;
  }
  auto v = bind_args(args, {"value"}, name, 1);
  if (name == "count") {
    return Value(static_cast<int64_t>(std::count_if(
        items.begin(), items.end(), [&](const Value& x) { return py_equal(x, v[0]); })));
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (py_equal(items[i], v[0])) return Value(static_cast<int64_t>(i));
  }
  raise("ValueError", py_repr(v[0]) + " is not in list");
}

}  // namespace

MethodKind method_kind(const Value& self, const std::string& name) {
  switch (self.kind()) {
    case Value::Kind::String:
      return string_method_names().count(name) ? MethodKind::Safe : MethodKind::None;
    case Value::Kind::Dict:
      if (dict_methods().count(name)) return MethodKind::Safe;
      return dict_mutators().count(name) ? MethodKind::Mutating : MethodKind::None;
    case Value::Kind::List:
      if (list_methods().count(name)) return MethodKind::Safe;
      return list_mutators().count(name) ? MethodKind::Mutating : MethodKind::None;
    case Value::Kind::Tuple:
      return (name == "index" || name == "count") ? MethodKind::Safe : MethodKind::None;
    default:
      return MethodKind::None;
  }
}

Value call_method(Interpreter& interp, const Value& self, const std::string& name, CallArgs& args) {
  interp.tick();
  if (self.is_string()) return call_string_method(interp, self.as_string(), name, args);
  if (self.is_dict()) return dict_method(self.as_dict(), name, args);
  if (self.is_sequence()) return list_method(self, name, args);
  std::string message = "'";
  message += self.type_name();
  raise("AttributeError", message + "' object has no attribute '" + name + "'");
}

}  // namespace mlxlm::chat::jinja
