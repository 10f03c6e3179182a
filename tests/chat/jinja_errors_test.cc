// Syntax errors name line and column; runaway templates stop on a budget (steps, recursion,
// sizes) with a clear error instead of hanging or exhausting memory.
#include <gtest/gtest.h>

#include "render_helper.h"

namespace mlxlm::chat {
namespace {

using testing::render;
using testing::render_error;

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(JinjaSyntaxErrors, ReportLineAndColumn) {
  std::string e = render_error("{{ 1 + }}");
  EXPECT_TRUE(has(e, "line 1, column 8")) << e;
  e = render_error("ok\n{% for %}");
  EXPECT_TRUE(has(e, "line 2, column 8")) << e;
  e = render_error("line1\n{% if x %}\nfoo\n");
  EXPECT_TRUE(has(e, "line 3")) << e;
  EXPECT_TRUE(has(e, "endif")) << e;
  e = render_error("a\nb\n  {{ x|nosuch }}");
  EXPECT_TRUE(has(e, "line 3, column 8")) << e;
  EXPECT_TRUE(has(e, "no filter named 'nosuch'")) << e;
  e = render_error("{% if x is nosuch %}{% endif %}");
  EXPECT_TRUE(has(e, "no test named 'nosuch'")) << e;
}

TEST(JinjaSyntaxErrors, VariousMistakes) {
  EXPECT_TRUE(has(render_error("{{ 'abc }}"), "unterminated string")) << render_error("{{ 'abc }}");
  EXPECT_TRUE(has(render_error("{% foo %}"), "unknown tag 'foo'"));
  EXPECT_TRUE(has(render_error("{{ (1 }}"), "syntax error"));
  EXPECT_TRUE(has(render_error("{{ 1 ]}}"), "unexpected ']'"));
  EXPECT_TRUE(has(render_error("{# never closed"), "missing end of comment"));
  EXPECT_TRUE(has(render_error("{% include 'x.html' %}"), "cannot load other templates"));
  EXPECT_TRUE(has(render_error("{% for x in y %}"), "endfor"));
  EXPECT_TRUE(has(render_error("{% endif %}"), "unknown tag 'endif'"));
  EXPECT_TRUE(has(render_error("{{ x is defined is none }}"), "syntax error"));
}

TEST(JinjaSyntaxErrors, DeepNestingIsRejectedNotACrash) {
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_TRUE(has(render_error(deep), "nesting is deeper")) << render_error(deep).substr(0, 200);
  std::string blocks;
  for (int i = 0; i < 3000; ++i) blocks += "{% if true %}";
  EXPECT_TRUE(has(render_error(blocks), "nesting is deeper"));
  std::string unary = "{{ " + std::string(5000, '-') + "1 }}";
  EXPECT_TRUE(has(render_error(unary), "nesting is deeper"));
}

TEST(JinjaRuntimeErrors, UndefinedUse) {
  EXPECT_TRUE(has(render_error("{{ missing.attr }}"), "UndefinedError: 'missing' is undefined"));
  EXPECT_TRUE(has(render_error("{{ none.split('x') }}"),
                  "UndefinedError: 'None' has no attribute 'split'"));
  EXPECT_TRUE(has(render_error("{{ {'a': 1}.b.c }}"), "'dict object' has no attribute 'b'"));
  EXPECT_TRUE(has(render_error("{{ missing + 1 }}"), "UndefinedError"));
  EXPECT_TRUE(has(render_error("{% for x in none %}{% endfor %}"),
                  "TypeError: 'NoneType' object is not iterable"));
  EXPECT_TRUE(has(render_error("{{ none|length }}"), "object of type 'NoneType' has no len()"));
  EXPECT_TRUE(has(render_error("{{ none() }}"), "'NoneType' object is not callable"));
}

TEST(JinjaBudgets, EndlessLoopStopsOnStepBudget) {
  std::string e = render_error(
      "{% for a in range(100000) %}{% for b in range(100000) %}{{ b }}{% endfor %}{% endfor %}");
  EXPECT_TRUE(has(e, "budget")) << e;
}

TEST(JinjaBudgets, StepBudgetIsConfigurable) {
  jinja::RenderOptions options;
  options.limits.max_steps = 1000;
  EXPECT_TRUE(
      has(render_error("{% for a in range(10000) %}x{% endfor %}", "{}", options), "budget"));
  EXPECT_EQ(render("{% for a in range(10) %}x{% endfor %}", "{}", options), "xxxxxxxxxx");
}

TEST(JinjaBudgets, EndlessRecursionStops) {
  EXPECT_TRUE(
      has(render_error("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"), "RecursionError"));
  EXPECT_TRUE(has(render_error("{% macro f(n) %}{{ f(n + 1) }}{{ n }}{% endmacro %}{{ f(0) }}"),
                  "RecursionError"));
  const char* vars = R"({"t": [{"c": []}]})";
  // A recursive loop fed its own list never ends.
  EXPECT_TRUE(has(render_error("{% for x in t recursive %}{{ loop(t) }}{% endfor %}", vars),
                  "RecursionError"));
}

TEST(JinjaBudgets, RunawayMemoryStops) {
  EXPECT_TRUE(has(render_error("{% set ns = namespace(s='x') %}{% for i in range(100) %}"
                               "{% set ns.s = ns.s ~ ns.s %}{% endfor %}"),
                  "MemoryError"));
  EXPECT_TRUE(has(render_error("{{ 'x' * 10000000000 }}"), "MemoryError"));
  EXPECT_TRUE(has(render_error("{% set ns = namespace(l=[1]) %}{% for i in range(100) %}"
                               "{% set ns.l = ns.l + ns.l %}{% endfor %}"),
                  "MemoryError"));
}

}  // namespace
}  // namespace mlxlm::chat
