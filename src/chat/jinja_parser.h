#pragma once
// Builds the syntax tree of a template with Jinja2's grammar and operator precedence. Nesting is
// bounded so that hostile input cannot exhaust the stack.
#include <string>
#include <vector>

#include "chat/jinja_ast.h"
#include "chat/jinja_lexer.h"

namespace mlxlm::chat::jinja {

// Maximum nesting of statements plus expressions accepted by the parser.
inline constexpr int kMaxParseDepth = 128;

// `source` is the normalized source the tokens came from (for error positions).
Body parse_template(const std::string& source, const std::vector<Token>& tokens);

// The parser proper; shared by the statement and expression halves (jinja_parser*.cc).
class Parser {
 public:
  Parser(const std::string& source, const std::vector<Token>& tokens)
      : src_(source), toks_(tokens) {}

  Body parse_all();

 private:
  friend class DepthGuard;

  // Token stream.
  const Token& cur() const { return toks_[pos_]; }
  const Token& peek(size_t n = 1) const;
  void advance() {
    if (pos_ + 1 < toks_.size()) ++pos_;
  }
  bool is_op(const char* op) const;
  bool is_name(const char* name) const;
  bool skip_op(const char* op);
  bool skip_name(const char* name);
  void expect_op(const char* op);
  std::string expect_name();
  void expect(TokenType type);
  [[noreturn]] void fail(const std::string& message) const;
  [[noreturn]] void fail_at(size_t offset, const std::string& message) const;
  std::string describe(const Token& t) const;
  void enter();
  void leave() { --depth_; }

  // Statements (jinja_parser.cc).
  Body subparse(const std::vector<std::string>& end_tokens);
  Body parse_statements(const std::vector<std::string>& end_tokens, bool drop_needle);
  StmtPtr parse_statement();
  StmtPtr parse_if();
  StmtPtr parse_for();
  StmtPtr parse_set();
  StmtPtr parse_macro();
  StmtPtr parse_call_block();
  StmtPtr parse_filter_block();
  StmtPtr parse_with();
  void parse_signature(std::vector<MacroParam>& params);
  ExprPtr parse_assign_target(bool with_tuple, bool with_namespace,
                              const std::vector<std::string>& extra_end);

  // Expressions (jinja_parser_expr.cc).
 public:
  ExprPtr parse_expression(bool with_condexpr = true);
  ExprPtr parse_tuple(bool simplified, bool with_condexpr,
                      const std::vector<std::string>& extra_end, bool explicit_parentheses);

 private:
  ExprPtr parse_condexpr();
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_list();
  ExprPtr parse_dict();
  ExprPtr parse_postfix(ExprPtr node);
  ExprPtr parse_filter_expr(ExprPtr node);
  ExprPtr parse_subscript(ExprPtr node);
  ExprPtr parse_subscribed();
  void parse_call_args(Expr& call);
  ExprPtr parse_filter(ExprPtr node, bool start_inline);
  ExprPtr parse_test(ExprPtr node);
  bool is_tuple_end(const std::vector<std::string>& extra_end) const;

  const std::string& src_;
  const std::vector<Token>& toks_;
  size_t pos_ = 0;
  int depth_ = 0;
};

class DepthGuard {
 public:
  explicit DepthGuard(Parser& p) : p_(p) { p_.enter(); }
  ~DepthGuard() { p_.leave(); }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;

 private:
  Parser& p_;
};

}  // namespace mlxlm::chat::jinja
