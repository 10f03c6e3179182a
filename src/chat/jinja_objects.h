#pragma once
// The opaque objects templates meet: namespace(), the `loop` variable, macros, bound methods of
// str / dict / list, and built-in functions.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chat/jinja_ast.h"
#include "chat/jinja_interpreter.h"
#include "chat/jinja_value.h"

namespace mlxlm::chat::jinja {

// Jinja2's namespace(): the one object whose attributes `{% set ns.x = ... %}` may assign.
class Namespace : public Object {
 public:
  std::string type_name() const override { return "Namespace"; }
  std::string repr() const override;
  bool get_attr(const std::string& name, Value& out) const override;
  void set_attr(const std::string& name, Value v) { attrs_.set(Value(name), std::move(v)); }

 private:
  Dict attrs_;
};

class LoopObject : public Object {
 public:
  // `changed` holds what loop.changed() last saw; it is shared by all iterations of one loop.
  LoopObject(size_t index0, size_t length, Value previous, Value next, int depth, const Stmt* loop,
             std::shared_ptr<Scope> scope, std::shared_ptr<Value> changed)
      : index0_(index0),
        length_(length),
        previous_(std::move(previous)),
        next_(std::move(next)),
        depth_(depth),
        loop_(loop),
        scope_(std::move(scope)),
        changed_(std::move(changed)) {}
  std::string type_name() const override { return "LoopContext"; }
  std::string repr() const override;
  bool get_attr(const std::string& name, Value& out) const override;
  // loop(iterable) in a `recursive` loop.
  bool callable() const override { return loop_ != nullptr && loop_->recursive; }
  Value call(Interpreter& interp, CallArgs& args) override;

 private:
  size_t index0_;
  size_t length_;
  Value previous_;
  Value next_;
  int depth_;
  const Stmt* loop_;
  std::weak_ptr<Scope> scope_;
  std::shared_ptr<Value> changed_;
};

class Macro : public Object {
 public:
  Macro(const Stmt* def, std::weak_ptr<Scope> closure, Value caller = {})
      : def_(def), closure_(std::move(closure)), caller_(std::move(caller)) {}
  std::string type_name() const override { return "Macro"; }
  std::string repr() const override { return "<Macro '" + def_->name + "'>"; }
  bool get_attr(const std::string& name, Value& out) const override;
  bool callable() const override { return true; }
  Value call(Interpreter& interp, CallArgs& args) override;

 private:
  const Stmt* def_;
  std::weak_ptr<Scope> closure_;
  Value caller_;
};

using BuiltinFn = std::function<Value(Interpreter&, CallArgs&)>;

class Builtin : public Object {
 public:
  Builtin(std::string name, BuiltinFn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::string type_name() const override { return "builtin_function_or_method"; }
  std::string repr() const override { return "<built-in function " + name_ + ">"; }
  bool callable() const override { return true; }
  Value call(Interpreter& interp, CallArgs& args) override { return fn_(interp, args); }

 private:
  std::string name_;
  BuiltinFn fn_;
};

// `"abc".upper`, `d.items`: a method bound to its receiver.
class BoundMethod : public Object {
 public:
  BoundMethod(Value self, std::string name) : self_(std::move(self)), name_(std::move(name)) {}
  std::string type_name() const override { return "builtin_function_or_method"; }
  std::string repr() const override;
  bool callable() const override { return true; }
  Value call(Interpreter& interp, CallArgs& args) override;

 private:
  Value self_;
  std::string name_;
};

// Binds call arguments to named parameters the way a Python signature does; `fn` names the
// function in errors. Returns one slot per parameter (Undefined when not given).
std::vector<Value> bind_args(const CallArgs& args, const std::vector<std::string>& params,
                             const std::string& fn, size_t required = 0);

}  // namespace mlxlm::chat::jinja
