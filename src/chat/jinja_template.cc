#include "chat/jinja_template.h"

#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"
#include "chat/jinja_parser.h"

namespace mlxlm::chat::jinja {

namespace {

// Jinja2 resolves filter and test names when it compiles, so a template that names an unknown
// one fails even if that branch never runs.
class NameChecker {
 public:
  explicit NameChecker(const std::string& source) : source_(source) {}

  void body(const Body& b) {
    for (const auto& s : b) stmt(*s);
  }

 private:
  void stmt(const Stmt& s) {
    expr(s.expr.get());
    expr(s.target.get());
    expr(s.filter.get());
    for (const auto& [cond, b] : s.branches) {
      expr(cond.get());
      body(b);
    }
    for (const auto& [t, v] : s.assignments) {
      expr(t.get());
      expr(v.get());
    }
    for (const auto& p : s.params) expr(p.default_value.get());
    body(s.body);
    body(s.else_body);
  }

  void expr(const Expr* e) {
    if (e == nullptr) return;
    if (e->kind == Expr::Kind::Filter && find_filter(e->name) == nullptr) {
      syntax_error(source_, e->offset, "no filter named '" + e->name + "'");
    }
    if (e->kind == Expr::Kind::Test && find_test(e->name) == nullptr) {
      syntax_error(source_, e->offset, "no test named '" + e->name + "'");
    }
    for (const auto& i : e->items) expr(i.get());
    for (const auto& a : e->args) expr(a.value.get());
    expr(e->target.get());
    expr(e->a.get());
    expr(e->b.get());
    expr(e->c.get());
    expr(e->dyn_args.get());
    expr(e->dyn_kwargs.get());
  }

  const std::string& source_;
};

}  // namespace

Template::Template(const std::string& source, const LexerOptions& lexer)
    : source_(normalize_source(source, lexer)) {
  std::vector<Token> tokens = tokenize(source_, lexer);
  body_ = parse_template(source_, tokens);
  NameChecker(source_).body(body_);
}

std::string Template::render(const Dict& variables, const RenderOptions& options) const {
  auto globals = std::make_shared<Scope>();
  install_globals(*globals);
  auto scope = std::make_shared<Scope>(globals);
  for (const auto& [k, v] : variables.items()) {
    if (k.is_string()) scope->set(k.as_string(), v);
  }
  Interpreter interp(source_, options.limits);
  if (options.now) interp.set_now(*options.now);
  return interp.render(body_, scope);
}

}  // namespace mlxlm::chat::jinja
