// Statement half of the parser: tags, bodies and assignment targets.
#include "chat/jinja_parser.h"

#include <algorithm>

namespace mlxlm::chat::jinja {

Body parse_template(const std::string& source, const std::vector<Token>& tokens) {
  return Parser(source, tokens).parse_all();
}

const Token& Parser::peek(size_t n) const {
  size_t i = std::min(pos_ + n, toks_.size() - 1);
  return toks_[i];
}

bool Parser::is_op(const char* op) const {
  return cur().type == TokenType::Operator && cur().text == op;
}

bool Parser::is_name(const char* name) const {
  return cur().type == TokenType::Name && cur().text == name;
}

bool Parser::skip_op(const char* op) {
  if (!is_op(op)) return false;
  advance();
  return true;
}

bool Parser::skip_name(const char* name) {
  if (!is_name(name)) return false;
  advance();
  return true;
}

std::string Parser::describe(const Token& t) const {
  switch (t.type) {
    case TokenType::Text:
      return "template data";
    case TokenType::VarBegin:
      return "begin of print statement";
    case TokenType::VarEnd:
      return "end of print statement";
    case TokenType::BlockBegin:
      return "begin of statement block";
    case TokenType::BlockEnd:
      return "end of statement block";
    case TokenType::String:
      return "string";
    case TokenType::Integer:
    case TokenType::Float:
      return "number " + t.text;
    case TokenType::End:
      return "end of template";
    default:
      return "'" + t.text + "'";
  }
}

void Parser::expect_op(const char* op) {
  if (!skip_op(op)) fail(std::string("expected token '") + op + "', got " + describe(cur()));
}

std::string Parser::expect_name() {
  if (cur().type != TokenType::Name) fail("expected token 'name', got " + describe(cur()));
  std::string n = cur().text;
  advance();
  return n;
}

void Parser::expect(TokenType type) {
  if (cur().type != type) {
    Token want;
    want.type = type;
    fail("expected " + describe(want) + ", got " + describe(cur()));
  }
  advance();
}

void Parser::fail(const std::string& message) const { fail_at(cur().offset, message); }

void Parser::fail_at(size_t offset, const std::string& message) const {
  syntax_error(src_, offset, message);
}

void Parser::enter() {
  if (++depth_ > kMaxParseDepth) {
    fail("template nesting is deeper than " + std::to_string(kMaxParseDepth) + " levels");
  }
}

Body Parser::parse_all() {
  Body body = subparse({});
  if (cur().type != TokenType::End) fail("unexpected " + describe(cur()));
  return body;
}

Body Parser::subparse(const std::vector<std::string>& end_tokens) {
  DepthGuard guard(*this);
  Body body;
  while (cur().type != TokenType::End) {
    const Token& t = cur();
    if (t.type == TokenType::Text) {
      auto s = std::make_unique<Stmt>(Stmt::Kind::Text, t.offset);
      s->text = t.text;
      body.push_back(std::move(s));
      advance();
    } else if (t.type == TokenType::VarBegin) {
      auto s = std::make_unique<Stmt>(Stmt::Kind::Output, t.offset);
      advance();
      s->expr = parse_tuple(false, true, {}, false);
      expect(TokenType::VarEnd);
      body.push_back(std::move(s));
    } else if (t.type == TokenType::BlockBegin) {
      advance();
      if (cur().type == TokenType::Name &&
          std::find(end_tokens.begin(), end_tokens.end(), cur().text) != end_tokens.end()) {
        return body;
      }
      body.push_back(parse_statement());
      expect(TokenType::BlockEnd);
    } else {
      fail("unexpected " + describe(t));
    }
  }
  if (!end_tokens.empty()) {
    std::string want;
    for (const auto& e : end_tokens) want += (want.empty() ? "'" : " or '") + e + "'";
    fail("unexpected end of template; Jinja was looking for " + want);
  }
  return body;
}

Body Parser::parse_statements(const std::vector<std::string>& end_tokens, bool drop_needle) {
  skip_op(":");
  expect(TokenType::BlockEnd);
  Body body = subparse(end_tokens);
  if (drop_needle) advance();
  return body;
}

StmtPtr Parser::parse_statement() {
  DepthGuard guard(*this);
  if (cur().type != TokenType::Name) fail("tag name expected");
  const std::string tag = cur().text;
  size_t offset = cur().offset;
  if (tag == "if") return parse_if();
  if (tag == "for") return parse_for();
  if (tag == "set") return parse_set();
  if (tag == "macro") return parse_macro();
  if (tag == "call") return parse_call_block();
  if (tag == "filter") return parse_filter_block();
  if (tag == "with") return parse_with();
  if (tag == "break" || tag == "continue") {
    advance();
    return std::make_unique<Stmt>(tag == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue,
                                  offset);
  }
  if (tag == "do") {
    advance();
    auto s = std::make_unique<Stmt>(Stmt::Kind::Do, offset);
    s->expr = parse_tuple(false, true, {}, false);
    return s;
  }
  if (tag == "generation") {
    // transformers' AssistantTracker marks assistant spans; the text is unaffected.
    advance();
    auto s = std::make_unique<Stmt>(Stmt::Kind::Scope, offset);
    s->body = parse_statements({"endgeneration"}, true);
    return s;
  }
  if (tag == "include" || tag == "import" || tag == "from" || tag == "extends") {
    fail("'" + tag + "' is not available: chat templates cannot load other templates");
  }
  fail("encountered unknown tag '" + tag + "'");
}

StmtPtr Parser::parse_if() {
  auto s = std::make_unique<Stmt>(Stmt::Kind::If, cur().offset);
  advance();
  while (true) {
    ExprPtr cond = parse_tuple(false, false, {}, false);
    Body body = parse_statements({"elif", "else", "endif"}, false);
    s->branches.emplace_back(std::move(cond), std::move(body));
    std::string which = cur().text;
    advance();
    if (which == "elif") continue;
    if (which == "else") s->else_body = parse_statements({"endif"}, true);
    break;
  }
  return s;
}

StmtPtr Parser::parse_for() {
  auto s = std::make_unique<Stmt>(Stmt::Kind::For, cur().offset);
  advance();
  s->target = parse_assign_target(true, false, {"in"});
  if (!skip_name("in")) fail("expected 'in', got " + describe(cur()));
  s->expr = parse_tuple(false, false, {"recursive"}, false);
  if (skip_name("if")) s->filter = parse_expression(true);
  s->recursive = skip_name("recursive");
  s->body = parse_statements({"endfor", "else"}, false);
  std::string which = cur().text;
  advance();
  if (which == "else") s->else_body = parse_statements({"endfor"}, true);
  return s;
}

StmtPtr Parser::parse_set() {
  size_t offset = cur().offset;
  advance();
  ExprPtr target = parse_assign_target(true, true, {});
  if (skip_op("=")) {
    auto s = std::make_unique<Stmt>(Stmt::Kind::Set, offset);
    s->target = std::move(target);
    s->expr = parse_tuple(false, true, {}, false);
    return s;
  }
  auto s = std::make_unique<Stmt>(Stmt::Kind::SetBlock, offset);
  s->target = std::move(target);
  if (is_op("|")) s->filter = parse_filter(nullptr, false);
  s->body = parse_statements({"endset"}, true);
  return s;
}

void Parser::parse_signature(std::vector<MacroParam>& params) {
  expect_op("(");
  while (!is_op(")")) {
    if (!params.empty()) expect_op(",");
    if (is_op(")")) break;
    MacroParam p;
    p.name = expect_name();
    if (skip_op("=")) p.default_value = parse_expression(true);
    params.push_back(std::move(p));
  }
  expect_op(")");
}

StmtPtr Parser::parse_macro() {
  auto s = std::make_unique<Stmt>(Stmt::Kind::Macro, cur().offset);
  advance();
  s->name = expect_name();
  parse_signature(s->params);
  s->body = parse_statements({"endmacro"}, true);
  return s;
}

StmtPtr Parser::parse_call_block() {
  auto s = std::make_unique<Stmt>(Stmt::Kind::CallBlock, cur().offset);
  s->name = "caller";
  advance();
  if (is_op("(")) parse_signature(s->params);
  s->expr = parse_expression(true);
  if (s->expr->kind != Expr::Kind::Call) fail_at(s->expr->offset, "expected call");
  s->body = parse_statements({"endcall"}, true);
  return s;
}

StmtPtr Parser::parse_filter_block() {
  auto s = std::make_unique<Stmt>(Stmt::Kind::FilterBlock, cur().offset);
  advance();
  s->filter = parse_filter(nullptr, true);
  s->body = parse_statements({"endfilter"}, true);
  return s;
}

StmtPtr Parser::parse_with() {
  auto s = std::make_unique<Stmt>(Stmt::Kind::With, cur().offset);
  advance();
  while (cur().type != TokenType::BlockEnd) {
    if (!s->assignments.empty()) expect_op(",");
    ExprPtr target = parse_assign_target(true, false, {});
    expect_op("=");
    s->assignments.emplace_back(std::move(target), parse_expression(true));
  }
  s->body = parse_statements({"endwith"}, true);
  return s;
}

ExprPtr Parser::parse_assign_target(bool with_tuple, bool with_namespace,
                                    const std::vector<std::string>& extra_end) {
  size_t offset = cur().offset;
  if (with_namespace && cur().type == TokenType::Name && peek().type == TokenType::Operator &&
      peek().text == ".") {
    auto ref = std::make_unique<Expr>(Expr::Kind::GetAttr, offset);
    auto ns = std::make_unique<Expr>(Expr::Kind::Name, offset);
    ns->name = expect_name();
    advance();  // the dot
    ref->target = std::move(ns);
    ref->name = expect_name();
    return ref;
  }
  ExprPtr target = with_tuple ? parse_tuple(true, true, extra_end, false) : parse_primary();
  auto check = [&](const Expr& e) {
    if (e.kind != Expr::Kind::Name) fail_at(e.offset, "can't assign to this expression");
    if (e.name == "true" || e.name == "false" || e.name == "none" || e.name == "True" ||
        e.name == "False" || e.name == "None") {
      fail_at(e.offset, "can't assign to '" + e.name + "'");
    }
  };
  if (target->kind == Expr::Kind::Tuple) {
    for (const auto& item : target->items) check(*item);
  } else {
    check(*target);
  }
  return target;
}

}  // namespace mlxlm::chat::jinja
