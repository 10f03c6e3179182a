#pragma once
// The syntax tree of a parsed template. Nodes are plain tagged structs (one for expressions, one
// for statements) walked by the interpreter with a switch; `offset` points into the normalized
// source so runtime errors can name a line.
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_value.h"

namespace mlxlm::chat::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Arg {
  std::string keyword;  // empty for positional
  ExprPtr value;
};

struct Expr {
  enum class Kind {
    Const,     // value
    Name,      // name
    List,      // items
    Tuple,     // items
    Dict,      // items = key, value, key, value...
    GetAttr,   // target.name
    GetItem,   // target[a]
    Slice,     // target[a:b:c], each optional
    Call,      // target(args, *dyn_args, **dyn_kwargs)
    Filter,    // target|name(args); target null inside filter blocks
    Test,      // target is [not] name(args)
    Neg,       // -target
    Pos,       // +target
    Not,       // not target
    Binary,    // a op b: + - * / // % ** ~ and or
    Compare,   // target op0 items[0] op1 items[1] ...
    CondExpr,  // target if a else b (b optional)
  };

  Kind kind;
  size_t offset = 0;
  Value value;
  std::string name;
  std::vector<ExprPtr> items;
  std::vector<std::string> ops;
  ExprPtr target, a, b, c;
  std::vector<Arg> args;
  ExprPtr dyn_args, dyn_kwargs;
  bool negated = false;

  Expr(Kind k, size_t off) : kind(k), offset(off) {}
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null when required
};

struct Stmt {
  enum class Kind {
    Text,         // text
    Output,       // {{ expr }}
    If,           // branches (cond, body); else_body
    For,          // for target in expr [if filter] body [else else_body]
    Set,          // set target = expr
    SetBlock,     // set target [| filter] body endset
    Macro,        // macro name(params) body
    CallBlock,    // call(params) expr body
    FilterBlock,  // filter expr(chain, innermost target null) body
    Break,
    Continue,
    With,   // with assignments body
    Do,     // do expr
    Scope,  // body run as is (generation blocks)
  };

  Kind kind;
  size_t offset = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr target;
  ExprPtr filter;
  std::vector<std::pair<ExprPtr, Body>> branches;
  std::vector<std::pair<ExprPtr, ExprPtr>> assignments;
  Body body;
  Body else_body;
  std::string name;
  std::vector<MacroParam> params;
  bool recursive = false;

  Stmt(Kind k, size_t off) : kind(k), offset(off) {}
};

}  // namespace mlxlm::chat::jinja
