// Expression half of the parser, following Jinja2's precedence: conditional expression, or,
// and, not, comparisons (chained, in, not in), + -, ~, * / // %, **, unary - +, then
// postfix (.attr, [item], call) and filters / tests.
#include <algorithm>

#include "chat/jinja_parser.h"

namespace mlxlm::chat::jinja {

namespace {

ExprPtr make(Expr::Kind kind, size_t offset) { return std::make_unique<Expr>(kind, offset); }

ExprPtr binary(std::string op, ExprPtr left, ExprPtr right, size_t offset) {
  auto e = make(Expr::Kind::Binary, offset);
  e->name = std::move(op);
  e->a = std::move(left);
  e->b = std::move(right);
  return e;
}

}  // namespace

bool Parser::is_tuple_end(const std::vector<std::string>& extra_end) const {
  const Token& t = cur();
  if (t.type == TokenType::VarEnd || t.type == TokenType::BlockEnd || t.type == TokenType::End) {
    return true;
  }
  if (t.type == TokenType::Operator && t.text == ")") return true;
  if (t.type == TokenType::Name &&
      std::find(extra_end.begin(), extra_end.end(), t.text) != extra_end.end()) {
    return true;
  }
  return false;
}

ExprPtr Parser::parse_tuple(bool simplified, bool with_condexpr,
                            const std::vector<std::string>& extra_end, bool explicit_parentheses) {
  size_t offset = cur().offset;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) expect_op(",");
    if (is_tuple_end(extra_end)) break;
    if (simplified) {
      items.push_back(parse_primary());
    } else {
      items.push_back(parse_expression(with_condexpr));
    }
    if (is_op(",")) {
      is_tuple = true;
    } else {
      break;
    }
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items[0]);
    if (!explicit_parentheses) fail("expected an expression, got " + describe(cur()));
  }
  auto t = make(Expr::Kind::Tuple, offset);
  t->items = std::move(items);
  return t;
}

ExprPtr Parser::parse_expression(bool with_condexpr) {
  DepthGuard guard(*this);
  return with_condexpr ? parse_condexpr() : parse_or();
}

ExprPtr Parser::parse_condexpr() {
  size_t offset = cur().offset;
  ExprPtr expr1 = parse_or();
  while (skip_name("if")) {
    auto e = make(Expr::Kind::CondExpr, offset);
    e->a = parse_or();
    if (skip_name("else")) e->b = parse_condexpr();
    e->target = std::move(expr1);
    expr1 = std::move(e);
  }
  return expr1;
}

ExprPtr Parser::parse_or() {
  size_t offset = cur().offset;
  ExprPtr left = parse_and();
  while (skip_name("or")) left = binary("or", std::move(left), parse_and(), offset);
  return left;
}

ExprPtr Parser::parse_and() {
  size_t offset = cur().offset;
  ExprPtr left = parse_not();
  while (skip_name("and")) left = binary("and", std::move(left), parse_not(), offset);
  return left;
}

ExprPtr Parser::parse_not() {
  if (is_name("not")) {
    DepthGuard guard(*this);
    auto e = make(Expr::Kind::Not, cur().offset);
    advance();
    e->target = parse_not();
    return e;
  }
  return parse_compare();
}

ExprPtr Parser::parse_compare() {
  size_t offset = cur().offset;
  ExprPtr expr = parse_math1();
  std::vector<std::string> ops;
  std::vector<ExprPtr> operands;
  while (true) {
    const Token& t = cur();
    if (t.type == TokenType::Operator && (t.text == "==" || t.text == "!=" || t.text == "<" ||
                                          t.text == ">" || t.text == "<=" || t.text == ">=")) {
      ops.push_back(t.text);
      advance();
    } else if (skip_name("in")) {
      ops.push_back("in");
    } else if (is_name("not") && peek().type == TokenType::Name && peek().text == "in") {
      advance();
      advance();
      ops.push_back("notin");
    } else {
      break;
    }
    operands.push_back(parse_math1());
  }
  if (ops.empty()) return expr;
  auto e = make(Expr::Kind::Compare, offset);
  e->target = std::move(expr);
  e->ops = std::move(ops);
  e->items = std::move(operands);
  return e;
}

ExprPtr Parser::parse_math1() {
  size_t offset = cur().offset;
  ExprPtr left = parse_concat();
  while (is_op("+") || is_op("-")) {
    std::string op = cur().text;
    advance();
    left = binary(op, std::move(left), parse_concat(), offset);
  }
  return left;
}

ExprPtr Parser::parse_concat() {
  size_t offset = cur().offset;
  ExprPtr left = parse_math2();
  while (skip_op("~")) left = binary("~", std::move(left), parse_math2(), offset);
  return left;
}

ExprPtr Parser::parse_math2() {
  size_t offset = cur().offset;
  ExprPtr left = parse_pow();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    std::string op = cur().text;
    advance();
    left = binary(op, std::move(left), parse_pow(), offset);
  }
  return left;
}

ExprPtr Parser::parse_pow() {
  size_t offset = cur().offset;
  ExprPtr left = parse_unary(true);
  while (skip_op("**")) left = binary("**", std::move(left), parse_unary(true), offset);
  return left;
}

ExprPtr Parser::parse_unary(bool with_filter) {
  DepthGuard guard(*this);
  size_t offset = cur().offset;
  ExprPtr node;
  if (is_op("-") || is_op("+")) {
    bool neg = is_op("-");
    advance();
    node = make(neg ? Expr::Kind::Neg : Expr::Kind::Pos, offset);
    node->target = parse_unary(false);
  } else {
    node = parse_primary();
  }
  node = parse_postfix(std::move(node));
  if (with_filter) node = parse_filter_expr(std::move(node));
  return node;
}

ExprPtr Parser::parse_primary() {
  DepthGuard guard(*this);
  const Token& t = cur();
  size_t offset = t.offset;
  switch (t.type) {
    case TokenType::Name: {
      auto e = make(Expr::Kind::Const, offset);
      if (t.text == "true" || t.text == "True") {
        e->value = Value(true);
      } else if (t.text == "false" || t.text == "False") {
        e->value = Value(false);
      } else if (t.text == "none" || t.text == "None") {
        e->value = Value::none();
      } else {
        e = make(Expr::Kind::Name, offset);
        e->name = t.text;
      }
      advance();
      return e;
    }
    case TokenType::String: {
      std::string s;
      while (cur().type == TokenType::String) {
        s += cur().text;
        advance();
      }
      auto e = make(Expr::Kind::Const, offset);
      e->value = Value(std::move(s));
      return e;
    }
    case TokenType::Integer: {
      auto e = make(Expr::Kind::Const, offset);
      e->value = Value(t.int_value);
      advance();
      return e;
    }
    case TokenType::Float: {
      auto e = make(Expr::Kind::Const, offset);
      e->value = Value(t.float_value);
      advance();
      return e;
    }
    case TokenType::Operator:
      if (t.text == "(") {
        advance();
        ExprPtr e = parse_tuple(false, true, {}, true);
        expect_op(")");
        return e;
      }
      if (t.text == "[") return parse_list();
      if (t.text == "{") return parse_dict();
      break;
    default:
      break;
  }
  fail("unexpected " + describe(t));
}

ExprPtr Parser::parse_list() {
  auto e = make(Expr::Kind::List, cur().offset);
  expect_op("[");
  while (!is_op("]")) {
    if (!e->items.empty()) expect_op(",");
    if (is_op("]")) break;
    e->items.push_back(parse_expression(true));
  }
  expect_op("]");
  return e;
}

ExprPtr Parser::parse_dict() {
  auto e = make(Expr::Kind::Dict, cur().offset);
  expect_op("{");
  while (!is_op("}")) {
    if (!e->items.empty()) expect_op(",");
    if (is_op("}")) break;
    e->items.push_back(parse_expression(true));
    expect_op(":");
    e->items.push_back(parse_expression(true));
  }
  expect_op("}");
  return e;
}

ExprPtr Parser::parse_postfix(ExprPtr node) {
  while (true) {
    if (is_op(".") || is_op("[")) {
      node = parse_subscript(std::move(node));
    } else if (is_op("(")) {
      auto call = make(Expr::Kind::Call, cur().offset);
      call->target = std::move(node);
      parse_call_args(*call);
      node = std::move(call);
    } else {
      return node;
    }
  }
}

ExprPtr Parser::parse_filter_expr(ExprPtr node) {
  while (true) {
    if (is_op("|")) {
      node = parse_filter(std::move(node), false);
    } else if (is_name("is")) {
      node = parse_test(std::move(node));
    } else if (is_op("(")) {
      auto call = make(Expr::Kind::Call, cur().offset);
      call->target = std::move(node);
      parse_call_args(*call);
      node = std::move(call);
    } else {
      return node;
    }
  }
}

ExprPtr Parser::parse_subscript(ExprPtr node) {
  DepthGuard guard(*this);
  size_t offset = cur().offset;
  if (skip_op(".")) {
    if (cur().type == TokenType::Name) {
      auto e = make(Expr::Kind::GetAttr, offset);
      e->target = std::move(node);
      e->name = cur().text;
      advance();
      return e;
    }
    if (cur().type == TokenType::Integer) {
      auto e = make(Expr::Kind::GetItem, offset);
      e->target = std::move(node);
      e->a = make(Expr::Kind::Const, cur().offset);
      e->a->value = Value(cur().int_value);
      advance();
      return e;
    }
    fail("expected name or number");
  }
  expect_op("[");
  std::vector<ExprPtr> args;
  while (!is_op("]")) {
    if (!args.empty()) expect_op(",");
    args.push_back(parse_subscribed());
  }
  expect_op("]");
  ExprPtr index;
  if (args.size() == 1) {
    index = std::move(args[0]);
  } else {
    index = make(Expr::Kind::Tuple, offset);
    index->items = std::move(args);
  }
  if (index->kind == Expr::Kind::Slice) {
    index->target = std::move(node);
    return index;
  }
  auto e = make(Expr::Kind::GetItem, offset);
  e->target = std::move(node);
  e->a = std::move(index);
  return e;
}

ExprPtr Parser::parse_subscribed() {
  size_t offset = cur().offset;
  auto slice = make(Expr::Kind::Slice, offset);
  if (skip_op(":")) {
    // start omitted
  } else {
    ExprPtr node = parse_expression(true);
    if (!is_op(":")) return node;
    advance();
    slice->a = std::move(node);
  }
  if (!is_op(":") && !is_op("]") && !is_op(",")) slice->b = parse_expression(true);
  if (skip_op(":")) {
    if (!is_op("]") && !is_op(",")) slice->c = parse_expression(true);
  }
  return slice;
}

void Parser::parse_call_args(Expr& call) {
  expect_op("(");
  bool first = true;
  while (!is_op(")")) {
    if (!first) expect_op(",");
    first = false;
    if (is_op(")")) break;
    if (skip_op("*")) {
      call.dyn_args = parse_expression(true);
    } else if (skip_op("**")) {
      call.dyn_kwargs = parse_expression(true);
    } else if (cur().type == TokenType::Name && peek().type == TokenType::Operator &&
               peek().text == "=") {
      Arg arg;
      arg.keyword = cur().text;
      advance();
      advance();
      arg.value = parse_expression(true);
      call.args.push_back(std::move(arg));
    } else {
      Arg arg;
      arg.value = parse_expression(true);
      call.args.push_back(std::move(arg));
    }
  }
  expect_op(")");
}

ExprPtr Parser::parse_filter(ExprPtr node, bool start_inline) {
  while (is_op("|") || start_inline) {
    if (!start_inline) advance();
    start_inline = false;
    auto f = make(Expr::Kind::Filter, cur().offset);
    f->name = expect_name();
    while (skip_op(".")) f->name.append(".").append(expect_name());
    if (is_op("(")) parse_call_args(*f);
    f->target = std::move(node);
    node = std::move(f);
  }
  return node;
}

ExprPtr Parser::parse_test(ExprPtr node) {
  advance();  // 'is'
  auto t = make(Expr::Kind::Test, cur().offset);
  t->negated = skip_name("not");
  t->name = expect_name();
  while (skip_op(".")) t->name.append(".").append(expect_name());
  const Token& c = cur();
  bool can_start = c.type == TokenType::Name || c.type == TokenType::String ||
                   c.type == TokenType::Integer || c.type == TokenType::Float ||
                   (c.type == TokenType::Operator && (c.text == "[" || c.text == "{"));
  if (is_op("(")) {
    parse_call_args(*t);
  } else if (can_start && !is_name("else") && !is_name("or") && !is_name("and")) {
    if (is_name("is")) fail("you cannot chain multiple tests with is");
    Arg arg;
    arg.value = parse_postfix(parse_primary());
    t->args.push_back(std::move(arg));
  }
  t->target = std::move(node);
  return t;
}

}  // namespace mlxlm::chat::jinja
