// Statement execution: output, control flow, assignment, macros, call/filter/set blocks.
#include "chat/jinja_interpreter.h"

#include "chat/jinja_error.h"
#include "chat/jinja_lexer.h"
#include "chat/jinja_objects.h"
#include "chat/jinja_operators.h"
#include "chat/jinja_pyformat.h"

namespace mlxlm::chat::jinja {

const Value* Scope::lookup(const std::string& name) const {
  for (const Scope* s = this; s != nullptr; s = s->parent_.get()) {
    auto it = s->vars_.find(name);
    if (it != s->vars_.end()) return &it->second;
  }
  return nullptr;
}

EvalGuard::EvalGuard(Interpreter& in) : in_(in) {
  if (++in_.depth_ > in_.limits_.max_eval_depth) {
    --in_.depth_;
    raise("RecursionError", "maximum template nesting depth exceeded");
  }
}

Interpreter::Interpreter(const std::string& source, const RenderLimits& limits)
    : source_(source), limits_(limits) {}

std::tm Interpreter::now() const {
  if (now_) return *now_;
  std::time_t t = std::time(nullptr);
  std::tm out{};
  localtime_r(&t, &out);
  return out;
}

void Interpreter::tick(int64_t steps) {
  steps_ += steps;
  if (steps_ > limits_.max_steps) {
    raise("RenderLimitError", "template exceeded its budget of " +
                                  std::to_string(limits_.max_steps) +
                                  " steps (endless loop or runaway recursion?)");
  }
}

void Interpreter::check_string(size_t bytes) {
  if (bytes > limits_.max_string_bytes) {
    raise("MemoryError", "template built a string of " + std::to_string(bytes) +
                             " bytes, over the limit of " +
                             std::to_string(limits_.max_string_bytes));
  }
  tick(static_cast<int64_t>(bytes >> 10));
}

void Interpreter::check_collection(size_t items) {
  if (items > limits_.max_collection_size) {
    raise("MemoryError", "template built a collection of " + std::to_string(items) +
                             " items, over the limit of " +
                             std::to_string(limits_.max_collection_size));
  }
  tick(static_cast<int64_t>(items >> 6));
}

void Interpreter::append_output(std::string& out, const std::string& text) {
  // Only the appended bytes cost steps; charging the whole buffer would make long prompts
  // quadratic in the budget.
  check_string(text.size());
  if (out.size() + text.size() > limits_.max_string_bytes) check_string(out.size() + text.size());
  out += text;
}

std::string Interpreter::render(const Body& body, const std::shared_ptr<Scope>& globals) {
  std::string out;
  exec(body, globals, out);
  return out;
}

Flow Interpreter::exec(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out) {
  for (const auto& s : body) {
    Flow f = exec_stmt(*s, scope, out);
    if (f != Flow::Normal) return f;
  }
  return Flow::Normal;
}

void Interpreter::assign(const Expr& target, const Value& v, const std::shared_ptr<Scope>& scope) {
  switch (target.kind) {
    case Expr::Kind::Name:
      scope->set(target.name, v);
      return;
    case Expr::Kind::Tuple: {
      List items = iterate(v);
      size_t n = target.items.size();
      if (items.size() < n) {
        raise("ValueError", "not enough values to unpack (expected " + std::to_string(n) +
                                ", got " + std::to_string(items.size()) + ")");
      }
      if (items.size() > n) {
        raise("ValueError", "too many values to unpack (expected " + std::to_string(n) + ")");
      }
      for (size_t i = 0; i < n; ++i) assign(*target.items[i], items[i], scope);
      return;
    }
    case Expr::Kind::GetAttr: {
      const Value* ns = scope->lookup(target.target->name);
      auto* space =
          (ns && ns->is_object()) ? dynamic_cast<Namespace*>(ns->as_object().get()) : nullptr;
      if (space == nullptr) {
        raise("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
      }
      space->set_attr(target.name, v);
      return;
    }
    default:
      raise("TemplateSyntaxError", "cannot assign to this expression");
  }
}

Flow Interpreter::exec_stmt(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out) {
  EvalGuard guard(*this);
  tick();
  switch (s.kind) {
    case Stmt::Kind::Text:
      append_output(out, s.text);
      return Flow::Normal;
    case Stmt::Kind::Output:
      append_output(out, py_str(eval(*s.expr, scope)));
      return Flow::Normal;
    case Stmt::Kind::If:
      for (const auto& [cond, body] : s.branches) {
        if (eval(*cond, scope).truthy()) return exec(body, scope, out);
      }
      return exec(s.else_body, scope, out);
    case Stmt::Kind::For:
      exec_for(s, scope, eval(*s.expr, scope), 1, out);
      return Flow::Normal;
    case Stmt::Kind::Set:
      assign(*s.target, eval(*s.expr, scope), scope);
      return Flow::Normal;
    case Stmt::Kind::SetBlock: {
      std::string captured;
      exec(s.body, std::make_shared<Scope>(scope), captured);
      Value v(std::move(captured));
      if (s.filter) v = eval_filter_chain(*s.filter, v, scope);
      assign(*s.target, v, scope);
      return Flow::Normal;
    }
    case Stmt::Kind::Macro:
      scope->set(s.name, Value::object(std::make_shared<Macro>(&s, scope)));
      return Flow::Normal;
    case Stmt::Kind::CallBlock: {
      // The body becomes a macro named `caller` that the called macro may invoke.
      auto caller = Value::object(std::make_shared<Macro>(&s, scope));
      const Expr& call = *s.expr;
      Value callee = eval(*call.target, scope);
      CallArgs args;
      eval_args(call, scope, args);
      args.keywords.emplace_back("caller", caller);
      append_output(out, py_str(this->call(callee, args)));
      return Flow::Normal;
    }
    case Stmt::Kind::FilterBlock: {
      std::string captured;
      exec(s.body, std::make_shared<Scope>(scope), captured);
      append_output(out, py_str(eval_filter_chain(*s.filter, Value(std::move(captured)), scope)));
      return Flow::Normal;
    }
    case Stmt::Kind::Break:
      return Flow::Break;
    case Stmt::Kind::Continue:
      return Flow::Continue;
    case Stmt::Kind::With: {
      auto inner = std::make_shared<Scope>(scope);
      for (const auto& [target, value] : s.assignments) assign(*target, eval(*value, scope), inner);
      return exec(s.body, inner, out);
    }
    case Stmt::Kind::Do:
      eval(*s.expr, scope);
      return Flow::Normal;
    case Stmt::Kind::Scope:
      return exec(s.body, scope, out);
  }
  return Flow::Normal;
}

void Interpreter::exec_for(const Stmt& s, const std::shared_ptr<Scope>& scope,
                           const Value& iterable, int depth, std::string& out) {
  List items = iterate(iterable);
  if (s.filter) {
    List kept;
    for (auto& item : items) {
      tick();
      auto probe = std::make_shared<Scope>(scope);
      assign(*s.target, item, probe);
      if (eval(*s.filter, probe).truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  auto changed = std::make_shared<Value>();
  for (size_t i = 0; i < items.size(); ++i) {
    tick();
    auto inner = std::make_shared<Scope>(scope);
    assign(*s.target, items[i], inner);
    Value prev = i > 0 ? items[i - 1] : Value();
    Value next = i + 1 < items.size() ? items[i + 1] : Value();
    inner->set("loop", Value::object(std::make_shared<LoopObject>(i, items.size(), prev, next,
                                                                  depth, &s, scope, changed)));
    Flow f = exec(s.body, inner, out);
    if (f == Flow::Break) break;
  }
  if (items.empty()) exec(s.else_body, std::make_shared<Scope>(scope), out);
}

Value Interpreter::run_recursive_loop(const Stmt& loop, const std::shared_ptr<Scope>& scope,
                                      const Value& iterable, int depth) {
  if (depth > limits_.max_call_depth) {
    raise("RecursionError", "maximum recursion depth exceeded in recursive loop");
  }
  std::string out;
  exec_for(loop, scope, iterable, depth, out);
  return Value(std::move(out));
}

Value Interpreter::call_macro(const Stmt& def, const std::shared_ptr<Scope>& closure,
                              CallArgs& args, const Value& caller) {
  if (call_depth_ >= limits_.max_call_depth) {
    raise("RecursionError", "maximum macro recursion depth (" +
                                std::to_string(limits_.max_call_depth) + ") exceeded in '" +
                                def.name + "'");
  }
  ++call_depth_;
  struct Unwind {
    int& d;
    ~Unwind() { --d; }
  } unwind{call_depth_};

  auto scope = std::make_shared<Scope>(closure);
  const auto& params = def.params;
  std::vector<bool> bound(params.size(), false);
  List varargs;
  Dict kwargs;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < params.size()) {
      scope->set(params[i].name, args.positional[i]);
      bound[i] = true;
    } else {
      varargs.push_back(args.positional[i]);
    }
  }
  for (auto& [key, value] : args.keywords) {
    size_t i = 0;
    while (i < params.size() && params[i].name != key) ++i;
    if (i < params.size()) {
      if (bound[i]) {
        raise_type_error("macro '" + def.name + "' got multiple values for argument '" + key + "'");
      }
      scope->set(key, value);
      bound[i] = true;
    } else if (key == "caller") {
      scope->set("caller", value);
    } else {
      kwargs.set(Value(key), value);
    }
  }
  // Defaults are evaluated in the call's scope, so they may refer to earlier parameters.
  for (size_t i = 0; i < params.size(); ++i) {
    if (bound[i]) continue;
    if (params[i].default_value) {
      scope->set(params[i].name, eval(*params[i].default_value, scope));
    } else {
      scope->set(params[i].name, Value::undefined("UndefinedError: parameter '" + params[i].name +
                                                  "' was not provided"));
    }
  }
  scope->set("varargs", Value::tuple(std::move(varargs)));
  scope->set("kwargs", Value::dict(std::move(kwargs)));
  if (!caller.is_undefined()) scope->set("caller", caller);
  std::string out;
  exec(def.body, scope, out);
  return Value(std::move(out));
}

}  // namespace mlxlm::chat::jinja
