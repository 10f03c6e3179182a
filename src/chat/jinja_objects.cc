#include "chat/jinja_objects.h"

#include "chat/jinja_error.h"
#include "chat/jinja_methods.h"
#include "chat/jinja_pyformat.h"

namespace mlxlm::chat::jinja {

std::string Namespace::repr() const { return "<Namespace " + py_repr(Value::dict(attrs_)) + ">"; }

bool Namespace::get_attr(const std::string& name, Value& out) const {
  const Value* v = attrs_.find(name);
  if (v == nullptr) return false;
  out = *v;
  return true;
}

std::string LoopObject::repr() const {
  return "<LoopContext " + std::to_string(index0_ + 1) + "/" + std::to_string(length_) + ">";
}

bool LoopObject::get_attr(const std::string& name, Value& out) const {
  auto n = static_cast<int64_t>(length_);
  auto i = static_cast<int64_t>(index0_);
  if (name == "index0") {
    out = Value(i);
  } else if (name == "index") {
    out = Value(i + 1);
  } else if (name == "revindex") {
    out = Value(n - i);
  } else if (name == "revindex0") {
    out = Value(n - i - 1);
  } else if (name == "first") {
    out = Value(i == 0);
  } else if (name == "last") {
    out = Value(i == n - 1);
  } else if (name == "length") {
    out = Value(n);
  } else if (name == "depth") {
    out = Value(static_cast<int64_t>(depth_));
  } else if (name == "depth0") {
    out = Value(static_cast<int64_t>(depth_ - 1));
  } else if (name == "previtem") {
    out = i == 0 ? Value::undefined("UndefinedError: there is no previous item") : previous_;
  } else if (name == "nextitem") {
    out = i == n - 1 ? Value::undefined("UndefinedError: there is no next item") : next_;
  } else if (name == "changed") {
    auto last = changed_;
    out = Value::object(std::make_shared<Builtin>("changed", [last](Interpreter&, CallArgs& a) {
      Value now = Value::list(a.positional);
      if (!last->is_undefined() && py_equal(*last, now)) return Value(false);
      *last = now;
      return Value(true);
    }));
  } else if (name == "cycle") {
    size_t index = index0_;
    out = Value::object(std::make_shared<Builtin>("cycle", [index](Interpreter&, CallArgs& a) {
      if (a.positional.empty()) raise_type_error("no items for cycling given");
      return a.positional[index % a.positional.size()];
    }));
  } else {
    return false;
  }
  return true;
}

Value LoopObject::call(Interpreter& interp, CallArgs& args) {
  if (!callable()) return Object::call(interp, args);
  if (args.positional.size() != 1 || !args.keywords.empty()) {
    raise_type_error("loop() takes exactly one argument");
  }
  auto scope = scope_.lock();
  if (!scope) raise("RuntimeError", "recursive loop called after its scope ended");
  return interp.run_recursive_loop(*loop_, scope, args.positional[0], depth_ + 1);
}

bool Macro::get_attr(const std::string& name, Value& out) const {
  if (name == "name") {
    out = Value(def_->name);
    return true;
  }
  if (name == "arguments") {
    List names;
    for (const auto& p : def_->params) names.push_back(Value(p.name));
    out = Value::tuple(std::move(names));
    return true;
  }
  return false;
}

Value Macro::call(Interpreter& interp, CallArgs& args) {
  auto scope = closure_.lock();
  if (!scope) raise("RuntimeError", "macro '" + def_->name + "' called after its scope ended");
  return interp.call_macro(*def_, scope, args, caller_);
}

std::string BoundMethod::repr() const {
  return "<built-in method " + name_ + " of " + self_.type_name() + " object>";
}

Value BoundMethod::call(Interpreter& interp, CallArgs& args) {
  return call_method(interp, self_, name_, args);
}

std::vector<Value> bind_args(const CallArgs& args, const std::vector<std::string>& params,
                             const std::string& fn, size_t required) {
  std::vector<Value> out(params.size());
  if (args.positional.size() > params.size()) {
    raise_type_error(fn + "() takes at most " + std::to_string(params.size()) + " argument(s) (" +
                     std::to_string(args.positional.size()) + " given)");
  }
  std::vector<bool> given(params.size(), false);
  for (size_t i = 0; i < args.positional.size(); ++i) {
    out[i] = args.positional[i];
    given[i] = true;
  }
  for (const auto& [key, value] : args.keywords) {
    size_t i = 0;
    while (i < params.size() && params[i] != key) ++i;
    if (i == params.size()) {
      raise_type_error(fn + "() got an unexpected keyword argument '" + key + "'");
    }
    if (given[i]) raise_type_error(fn + "() got multiple values for argument '" + key + "'");
    out[i] = value;
    given[i] = true;
  }
  for (size_t i = 0; i < required; ++i) {
    if (!given[i]) {
      raise_type_error(fn + "() missing required argument: '" + params[i] + "'");
    }
  }
  return out;
}

}  // namespace mlxlm::chat::jinja
