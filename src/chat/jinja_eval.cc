// Expression evaluation, and attribute / item access with Jinja2's sandboxed fallbacks:
// `x.name` tries the Python attribute, then the item; `x['name']` tries the item, then the
// attribute; what is missing is Undefined rather than an error.
#include "chat/jinja_error.h"
#include "chat/jinja_interpreter.h"
#include "chat/jinja_methods.h"
#include "chat/jinja_objects.h"
#include "chat/jinja_operators.h"
#include "chat/jinja_pyformat.h"
#include "chat/jinja_unicode.h"

namespace mlxlm::chat::jinja {

namespace {

Value missing_attribute(const Value& obj, const std::string& name) {
  return Value::undefined("UndefinedError: '" + object_description(obj) + "' has no attribute '" +
                          name + "'");
}

Value unsafe_attribute(const Value& obj, const std::string& name) {
  return Value::undefined("SecurityError: access to attribute '" + name + "' of '" +
                          obj.type_name() + "' object is unsafe.");
}

}  // namespace

Value Interpreter::getattr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (!name.empty() && name[0] == '_') return unsafe_attribute(obj, name);
  switch (method_kind(obj, name)) {
    case MethodKind::Safe:
      return Value::object(std::make_shared<BoundMethod>(obj, name));
    case MethodKind::Mutating:
      return unsafe_attribute(obj, name);
    case MethodKind::None:
      break;
  }
  if (obj.is_dict()) {
    if (const Value* v = obj.as_dict().find(name)) return *v;
  } else if (obj.is_object()) {
    Value out;
    if (obj.as_object()->get_attr(name, out)) return out;
  }
  return missing_attribute(obj, name);
}

Value Interpreter::getitem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_dict()) {
    // An unhashable key is a TypeError that Jinja2's getitem swallows into Undefined.
    if (!key.is_list() && !key.is_dict()) {
      if (const Value* v = obj.as_dict().find(key)) return *v;
    }
  } else if ((obj.is_sequence() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    int64_t i = key.as_int();
    if (obj.is_string()) {
      auto cps = uni::decode(obj.as_string());
      auto n = static_cast<int64_t>(cps.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n)
        return Value(uni::encode(cps, static_cast<size_t>(i), static_cast<size_t>(i) + 1));
    } else {
      const List& items = obj.as_list();
      auto n = static_cast<int64_t>(items.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return items[static_cast<size_t>(i)];
    }
    return Value::undefined("UndefinedError: " + object_description(obj) + " has no element " +
                            std::to_string(key.as_int()));
  }
  if (key.is_string()) return getattr(obj, key.as_string());
  return Value::undefined("UndefinedError: " + object_description(obj) + " has no element " +
                          py_repr(key));
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  if (callee.is_undefined()) fail_undefined(callee);
  if (!callee.is_object() || !callee.as_object()->callable()) {
    raise_type_error("'" + callee.type_name() + "' object is not callable");
  }
  return callee.as_object()->call(*this, args);
}

List Interpreter::iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
      return {};
    case Value::Kind::List:
    case Value::Kind::Tuple:
      return v.as_list();
    case Value::Kind::Dict: {
      List keys;
      keys.reserve(v.as_dict().size());
      for (const auto& [k, val] : v.as_dict().items()) keys.push_back(k);
      return keys;
    }
    case Value::Kind::String: {
      auto cps = uni::decode(v.as_string());
      List chars;
      chars.reserve(cps.size());
      for (size_t i = 0; i < cps.size(); ++i) chars.push_back(Value(uni::encode(cps, i, i + 1)));
      return chars;
    }
    default:
      raise_type_error("'" + v.type_name() + "' object is not iterable");
  }
}

void Interpreter::eval_args(const Expr& e, const std::shared_ptr<Scope>& scope, CallArgs& args) {
  for (const auto& arg : e.args) {
    if (arg.keyword.empty()) {
      args.positional.push_back(eval(*arg.value, scope));
    } else {
      args.keywords.emplace_back(arg.keyword, eval(*arg.value, scope));
    }
  }
  if (e.dyn_args) {
    for (auto& v : iterate(eval(*e.dyn_args, scope))) args.positional.push_back(std::move(v));
  }
  if (e.dyn_kwargs) {
    Value d = eval(*e.dyn_kwargs, scope);
    if (!d.is_dict()) raise_type_error("argument after ** must be a mapping, not " + d.type_name());
    for (const auto& [k, v] : d.as_dict().items()) {
      if (!k.is_string()) raise_type_error("keywords must be strings");
      args.keywords.emplace_back(k.as_string(), v);
    }
  }
}

Value Interpreter::eval_filter_chain(const Expr& f, const Value& input,
                                     const std::shared_ptr<Scope>& scope) {
  Value v = f.target ? eval_filter_chain(*f.target, input, scope) : input;
  CallArgs args;
  eval_args(f, scope, args);
  return apply_filter(f.name, v, args);
}

Value Interpreter::eval_slice(const Expr& e, const std::shared_ptr<Scope>& scope) {
  Value obj = eval(*e.target, scope);
  auto bound = [&](const ExprPtr& x) -> std::optional<int64_t> {
    if (!x) return std::nullopt;
    Value v = eval(*x, scope);
    if (v.is_none()) return std::nullopt;
    if (v.is_undefined()) fail_undefined(v);
    if (!v.is_int() && !v.is_bool()) {
      raise_type_error("slice indices must be integers or None or have an __index__ method");
    }
    return v.as_int();
  };
  auto start = bound(e.a);
  auto stop = bound(e.b);
  auto step = bound(e.c);
  if (obj.is_undefined()) fail_undefined(obj);
  if (!obj.is_sequence() && !obj.is_string()) {
    return Value::undefined("UndefinedError: " + object_description(obj) + " has no element slice");
  }
  return slice_value(obj, start, stop, step);
}

Value Interpreter::eval_call(const Expr& e, const std::shared_ptr<Scope>& scope) {
  Value callee = eval(*e.target, scope);
  CallArgs args;
  eval_args(e, scope, args);
  return call(callee, args);
}

Value Interpreter::eval(const Expr& e, const std::shared_ptr<Scope>& scope) {
  EvalGuard guard(*this);
  tick();
  switch (e.kind) {
    case Expr::Kind::Const:
      return e.value;
    case Expr::Kind::Name: {
      if (const Value* v = scope->lookup(e.name)) return *v;
      return Value::undefined("UndefinedError: '" + e.name + "' is undefined");
    }
    case Expr::Kind::List:
    case Expr::Kind::Tuple: {
      List items;
      items.reserve(e.items.size());
      for (const auto& item : e.items) items.push_back(eval(*item, scope));
      return e.kind == Expr::Kind::List ? Value::list(std::move(items))
                                        : Value::tuple(std::move(items));
    }
    case Expr::Kind::Dict: {
      Dict d;
      for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
        Value k = eval(*e.items[i], scope);
        if (k.is_list() || k.is_dict() || k.is_undefined()) {
          raise_type_error("unhashable type: '" + k.type_name() + "'");
        }
        d.set(std::move(k), eval(*e.items[i + 1], scope));
      }
      return Value::dict(std::move(d));
    }
    case Expr::Kind::GetAttr:
      return getattr(eval(*e.target, scope), e.name);
    case Expr::Kind::GetItem: {
      Value obj = eval(*e.target, scope);
      return getitem(obj, eval(*e.a, scope));
    }
    case Expr::Kind::Slice:
      return eval_slice(e, scope);
    case Expr::Kind::Call:
      return eval_call(e, scope);
    case Expr::Kind::Filter: {
      Value v = eval(*e.target, scope);
      CallArgs args;
      eval_args(e, scope, args);
      return apply_filter(e.name, v, args);
    }
    case Expr::Kind::Test: {
      Value v = eval(*e.target, scope);
      CallArgs args;
      eval_args(e, scope, args);
      bool r = apply_test(e.name, v, args);
      return Value(e.negated ? !r : r);
    }
    case Expr::Kind::Neg:
    case Expr::Kind::Pos: {
      Value v = eval(*e.target, scope);
      if (v.is_undefined()) fail_undefined(v);
      if (!v.is_number()) {
        raise_type_error(std::string("bad operand type for unary ") +
                         (e.kind == Expr::Kind::Neg ? "-" : "+") + ": '" + v.type_name() + "'");
      }
      if (e.kind == Expr::Kind::Pos) return v.is_bool() ? Value(v.as_int()) : v;
      if (v.is_float()) return Value(-v.as_float());
      if (v.as_int() == INT64_MIN) raise("OverflowError", "integer overflow");
      return Value(-v.as_int());
    }
    case Expr::Kind::Not:
      return Value(!eval(*e.target, scope).truthy());
    case Expr::Kind::Binary: {
      if (e.name == "and") {
        Value a = eval(*e.a, scope);
        return a.truthy() ? eval(*e.b, scope) : a;
      }
      if (e.name == "or") {
        Value a = eval(*e.a, scope);
        return a.truthy() ? a : eval(*e.b, scope);
      }
      Value a = eval(*e.a, scope);
      Value b = eval(*e.b, scope);
      return binary_op(*this, e.name, a, b);
    }
    case Expr::Kind::Compare: {
      Value left = eval(*e.target, scope);
      for (size_t i = 0; i < e.ops.size(); ++i) {
        Value right = eval(*e.items[i], scope);
        if (!compare_op(e.ops[i], left, right)) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
    case Expr::Kind::CondExpr:
      if (eval(*e.a, scope).truthy()) return eval(*e.target, scope);
      if (e.b) return eval(*e.b, scope);
      return Value::undefined(
          "UndefinedError: the inline if-expression evaluated to false and no else section was "
          "defined.");
  }
  return Value();
}

}  // namespace mlxlm::chat::jinja
