// Statements: loops and the loop object, scoping of set, namespaces, macros, call / filter /
// set blocks. Expected values follow Jinja2's documented semantics.
#include <gtest/gtest.h>

#include "render_helper.h"

namespace mlxlm::chat {
namespace {

using testing::render;
using testing::render_error;

TEST(JinjaLoop, LoopObject) {
  EXPECT_EQ(
      render("{% for x in ['a', 'b', 'c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}"
             "{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}"),
      "1032TrueFalse3|2121FalseFalse3|3210FalseTrue3|");
  EXPECT_EQ(render("{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }};{% endfor %}"),
            "-2;1-3;2-;");
  EXPECT_EQ(render("{% for x in range(4) %}{{ loop.cycle('a', 'b') }}{% endfor %}"), "abab");
  EXPECT_EQ(render("{% for x in [1, 1, 2, 2, 1] %}{{ loop.changed(x) }} {% endfor %}"),
            "True False True False True ");
}

TEST(JinjaLoop, FilterElseAndUnpacking) {
  EXPECT_EQ(render("{% for x in range(6) if x is odd %}{{ x }}{{ loop.index }}"
                   "{% if loop.last %}!{% endif %} {% endfor %}"),
            "11 32 53! ");
  EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for x in [1] if x > 1 %}x{% else %}none{% endfor %}"), "none");
  EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }},{% endfor %}"),
            "a=1,b=2,");
  EXPECT_EQ(
      render("{% for k, v in d|items %}{{ k }}{{ v }}{% endfor %}", R"({"d": {"z": 1, "a": 2}})"),
      "z1a2");
  EXPECT_EQ(render("{% for k in {'z': 1, 'a': 2} %}{{ k }}{% endfor %}"), "za");
  EXPECT_EQ(render("{% for c in 'hé' %}[{{ c }}]{% endfor %}"), "[h][é]");
  EXPECT_NE(
      render_error("{% for a, b in [[1, 2, 3]] %}{% endfor %}").find("too many values to unpack"),
      std::string::npos);
}

TEST(JinjaLoop, NestedLoopsShadowLoop) {
  EXPECT_EQ(render("{% for a in [1, 2] %}{% for b in [1, 2] %}{{ loop.index }}{% endfor %}"
                   "{{ loop.index }}{% endfor %}"),
            "121122");
}

TEST(JinjaLoop, BreakAndContinue) {
  EXPECT_EQ(render("{% for x in range(10) %}{% if x == 3 %}{% break %}{% endif %}"
                   "{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}"),
            "02");
}

TEST(JinjaLoop, RecursiveLoop) {
  const char* vars = R"({"tree": [{"name": "a", "children": [{"name": "b"}, {"name": "c"}]},
                                  {"name": "d"}]})";
  EXPECT_EQ(render("{% for item in tree recursive %}{{ item.name }}{% if item.children %}"
                   "({{ loop(item.children) }}){% endif %}{% endfor %}",
                   vars),
            "a(bc)d");
}

TEST(JinjaScope, SetInsideLoopDoesNotLeak) {
  EXPECT_EQ(
      render("{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }}"),
      "221");
}

TEST(JinjaScope, SetInsideIfDoesLeak) {
  EXPECT_EQ(render("{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}"), "2");
}

TEST(JinjaScope, NamespaceCarriesStateOutOfLoops) {
  EXPECT_EQ(
      render("{% set ns = namespace(n=0, s='') %}{% for i in range(4) %}"
             "{% set ns.n = ns.n + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }}"),
      "6 0123");
  EXPECT_EQ(
      render("{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}{{ ns.c is defined }}"),
      "12False");
  EXPECT_NE(render_error("{% set d = {} %}{% set d.x = 1 %}").find("non-namespace"),
            std::string::npos);
}

TEST(JinjaScope, SetForms) {
  EXPECT_EQ(render("{% set x %}a{{ 1 }}b{% endset %}[{{ x }}]"), "[a1b]");
  EXPECT_EQ(render("{% set x | upper %}ab{% endset %}{{ x }}"), "AB");
  EXPECT_EQ(render("{% set a, b = [1, 2] %}{{ b }}{{ a }}"), "21");
  EXPECT_EQ(render("{% with y = 5 %}{{ y }}{% endwith %}[{{ y }}]"), "5[]");
}

TEST(JinjaMacro, DefaultsAndKeywords) {
  EXPECT_EQ(
      render("{% macro g(name, greeting='Hi') %}{{ greeting }} {{ name }}{% endmacro %}"
             "{{ g('Bob') }}|{{ g('Al', greeting='Yo') }}|{{ g(greeting='Hey', name='Cy') }}"),
      "Hi Bob|Yo Al|Hey Cy");
  EXPECT_EQ(render("{% macro m(a, b) %}[{{ b }}]{{ b is defined }}{% endmacro %}{{ m(1) }}"),
            "[]False");
  EXPECT_EQ(
      render("{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k=4) }}"),
      "1(2, 3){'k': 4}");
}

TEST(JinjaMacro, RecursionAndReturnValue) {
  EXPECT_EQ(
      render(
          "{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}"),
      "321");
  EXPECT_EQ(render("{% macro m() %}ab{% endmacro %}{{ m() == 'ab' }} {{ m()|length }}"), "True 2");
}

TEST(JinjaMacro, SeesTemplateVariablesAtCallTime) {
  EXPECT_EQ(render("{% macro m() %}{{ v }}{% endmacro %}{% set v = 'late' %}{{ m() }}"), "late");
  EXPECT_EQ(render("{% macro m() %}{{ who }}{% endmacro %}{{ m() }}", R"({"who": "ctx"})"), "ctx");
}

TEST(JinjaMacro, CallBlocks) {
  EXPECT_EQ(
      render("{% macro wrap() %}<{{ caller() }}>{% endmacro %}{% call wrap() %}in{% endcall %}"),
      "<in>");
  EXPECT_EQ(render("{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}"
                   "{% call(v) each([1, 2]) %}[{{ v }}]{% endcall %}"),
            "[1][2]");
}

TEST(JinjaStatements, FilterBlock) {
  EXPECT_EQ(render("{% filter upper %}abc{{ 'd' }}{% endfilter %}"), "ABCD");
  EXPECT_EQ(render("{% filter replace('a', 'b')|upper %}aa{% endfilter %}"), "BB");
}

TEST(JinjaStatements, GenerationBlockIsTransparent) {
  EXPECT_EQ(render("x{% generation %}y{% endgeneration %}z"), "xyz");
}

}  // namespace
}  // namespace mlxlm::chat
