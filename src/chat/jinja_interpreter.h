#pragma once
// Runs a parsed template: scopes as Jinja2 has them (a for-loop iteration, macro call or block
// capture gets its own scope; if/elif do not), sandboxed attribute access (no underscore
// attributes, no mutating methods), and budgets on steps, nesting and sizes so that a hostile
// template ends with an error instead of hanging or exhausting memory.
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "chat/jinja_ast.h"
#include "chat/jinja_value.h"

namespace mlxlm::chat::jinja {

struct RenderLimits {
  // Statements, expressions and loop iterations evaluated, plus one per KiB of text built.
  int64_t max_steps = 5'000'000;
  // Nested macro calls (and recursive loop levels).
  int max_call_depth = 64;
  // Nested evaluation frames of any kind.
  int max_eval_depth = 1500;
  // Longest string and largest list or dict a render may build.
  size_t max_string_bytes = size_t{32} << 20;
  size_t max_collection_size = size_t{1} << 20;
};

// A variable scope; lookups fall back to the parent.
class Scope {
 public:
  explicit Scope(std::shared_ptr<Scope> parent = nullptr) : parent_(std::move(parent)) {}
  const Value* lookup(const std::string& name) const;
  void set(const std::string& name, Value v) { vars_[name] = std::move(v); }
  const std::shared_ptr<Scope>& parent() const { return parent_; }

 private:
  std::shared_ptr<Scope> parent_;
  std::unordered_map<std::string, Value> vars_;
};

enum class Flow { Normal, Break, Continue };

class Interpreter {
 public:
  Interpreter(const std::string& source, const RenderLimits& limits);

  // Renders `body` with `globals` as the outermost scope.
  std::string render(const Body& body, const std::shared_ptr<Scope>& globals);

  // The date strftime_now() reports; unset means the local clock.
  void set_now(const std::tm& now) { now_ = now; }
  std::tm now() const;

  // Pieces filters, tests and methods build on.
  Value eval(const Expr& e, const std::shared_ptr<Scope>& scope);
  Value getattr(const Value& obj, const std::string& name);
  Value getitem(const Value& obj, const Value& key);
  Value call(const Value& callee, CallArgs& args);
  Value apply_filter(const std::string& name, const Value& value, CallArgs& args);
  bool apply_test(const std::string& name, const Value& value, CallArgs& args);
  // Python iteration: list items, dict keys, string characters; Undefined iterates as empty.
  List iterate(const Value& v);

  void tick(int64_t steps = 1);
  // Fails when a string of `bytes` or a collection of `items` would pass the limits.
  void check_string(size_t bytes);
  void check_collection(size_t items);

  // Runs a macro body (Macro objects call this).
  Value call_macro(const Stmt& def, const std::shared_ptr<Scope>& closure, CallArgs& args,
                   const Value& caller);
  // Runs one more level of a `recursive` for loop (the loop object calls this).
  Value run_recursive_loop(const Stmt& loop, const std::shared_ptr<Scope>& scope,
                           const Value& iterable, int depth);

 private:
  Flow exec(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out);
  Flow exec_stmt(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out);
  void exec_for(const Stmt& s, const std::shared_ptr<Scope>& scope, const Value& iterable,
                int depth, std::string& out);
  void assign(const Expr& target, const Value& v, const std::shared_ptr<Scope>& scope);
  Value eval_call(const Expr& e, const std::shared_ptr<Scope>& scope);
  void eval_args(const Expr& e, const std::shared_ptr<Scope>& scope, CallArgs& args);
  Value eval_filter_chain(const Expr& f, const Value& input, const std::shared_ptr<Scope>& scope);
  Value eval_slice(const Expr& e, const std::shared_ptr<Scope>& scope);
  void append_output(std::string& out, const std::string& text);

  friend class EvalGuard;
  const std::string& source_;
  RenderLimits limits_;
  int64_t steps_ = 0;
  int depth_ = 0;
  int call_depth_ = 0;
  std::optional<std::tm> now_;
};

class EvalGuard {
 public:
  explicit EvalGuard(Interpreter& in);
  ~EvalGuard() { --in_.depth_; }
  EvalGuard(const EvalGuard&) = delete;
  EvalGuard& operator=(const EvalGuard&) = delete;

 private:
  Interpreter& in_;
};

}  // namespace mlxlm::chat::jinja
