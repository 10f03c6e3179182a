#pragma once
// The values a Jinja template computes with, modelled on the Python objects Jinja2 sees when
// transformers renders a chat template: None, bool, int, float, str, list, tuple, dict (insertion
// ordered), Jinja's Undefined, and opaque objects (namespace, loop, macros, bound methods).
// Lists and dicts are shared like Python references; strings are UTF-8.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mlxlm::chat::jinja {

class Value;
class Object;
class Interpreter;

using List = std::vector<Value>;

// Python dict: keys keep insertion order, lookup is by Python equality.
class Dict {
 public:
  const Value* find(const Value& key) const;
  Value* find(const Value& key);
  const Value* find(const std::string& key) const;
  void set(Value key, Value value);
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const std::vector<std::pair<Value, Value>>& items() const { return items_; }

 private:
  std::vector<std::pair<Value, Value>> items_;
  // String keys (nearly all of them) are found by hash; other keys by a scan.
  std::unordered_map<std::string, size_t> string_index_;
};

// Positional and keyword arguments of a call.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
};

class Value {
 public:
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Tuple, Dict, Object };

  Value() = default;  // Undefined
  static Value undefined(std::string hint = {});
  static Value none();
  Value(bool b);
  Value(int v) : Value(static_cast<int64_t>(v)) {}
  Value(int64_t v);
  Value(double v);
  Value(std::string s);
  Value(const char* s) : Value(std::string(s)) {}
  static Value list(List items = {});
  static Value tuple(List items);
  static Value dict(Dict d = {});
  static Value object(std::shared_ptr<Object> obj);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_float() const { return kind_ == Kind::Float; }
  // Python numbers.Number: bool counts, as bool is a subclass of int.
  bool is_number() const {
    return kind_ == Kind::Bool || kind_ == Kind::Int || kind_ == Kind::Float;
  }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_list() const { return kind_ == Kind::List; }
  bool is_tuple() const { return kind_ == Kind::Tuple; }
  bool is_sequence() const { return kind_ == Kind::List || kind_ == Kind::Tuple; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_object() const { return kind_ == Kind::Object; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return i_; }  // Int or Bool
  double as_float() const;               // any number
  const std::string& as_string() const { return *s_; }
  const List& as_list() const { return *list_; }  // List or Tuple
  const Dict& as_dict() const { return *dict_; }
  const std::shared_ptr<Object>& as_object() const { return obj_; }
  // The message Jinja2 would raise when this undefined value is used.
  const std::string& undefined_hint() const { return *s_; }

  // Python truthiness.
  bool truthy() const;
  // Python type name as used in TypeError messages: NoneType, bool, int, str, list, dict...
  std::string type_name() const;

 private:
  Kind kind_ = Kind::Undefined;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::shared_ptr<const std::string> s_;
  std::shared_ptr<const List> list_;
  std::shared_ptr<const Dict> dict_;
  std::shared_ptr<Object> obj_;
};

// Objects without a Python literal form: namespace(), the loop variable, macros, methods.
class Object {
 public:
  virtual ~Object() = default;
  virtual std::string type_name() const = 0;
  virtual std::string repr() const;
  // Attribute lookup; nullptr when there is no such attribute.
  virtual bool get_attr(const std::string& name, Value& out) const;
  virtual bool callable() const { return false; }
  virtual Value call(Interpreter& interp, CallArgs& args);
};

// Python == (1 == 1.0 == True, lists and dicts by content, objects by identity).
bool py_equal(const Value& a, const Value& b);

// Jinja2's description of an object in "has no attribute" messages: "dict object", "None", ...
std::string object_description(const Value& v);

}  // namespace mlxlm::chat::jinja
