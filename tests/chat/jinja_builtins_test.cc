// Filters, tests, Python methods and globals, with values checked against Jinja2 / Python
// behaviour (case-insensitive sort and unique, banker's rounding, code point indexing...).
#include <gtest/gtest.h>

#include "render_helper.h"

namespace mlxlm::chat {
namespace {

using testing::render;
using testing::render_error;

TEST(JinjaFilters, Strings) {
  EXPECT_EQ(render("[{{ '  x \n'|trim }}] [{{ 'xxaxx'|trim('x') }}] [{{ none|trim }}]"),
            "[x] [a] [None]");
  EXPECT_EQ(render("{{ 'Hello'|upper }} {{ 'Hello'|lower }} {{ 'hello world'|title }} {{ "
                   "'hELLO'|capitalize }}"),
            "HELLO hello Hello World Hello");
  EXPECT_EQ(render("{{ 'a-b-c'|replace('-', '+') }} {{ 'aaa'|replace('a', 'b', 2) }}"),
            "a+b+c bba");
  EXPECT_EQ(render("{{ [1, 2]|string }} {{ none|string }} {{ '<a & b>'|e }}"),
            "[1, 2] None &lt;a &amp; b&gt;");
  EXPECT_EQ(render("{{ 'a\nb'|indent(2) }}|{{ 'a\nb'|indent(2, true) }}"), "a\n  b|  a\n  b");
  EXPECT_EQ(render("{{ '%s-%d'|format('x', 3) }} {{ 'x'|safe }}"), "x-3 x");
}

TEST(JinjaFilters, Numbers) {
  EXPECT_EQ(
      render("{{ 3.7|int }} {{ '42'|int + 1 }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ ' 12 '|int }}"),
      "3 43 0 7 12");
  EXPECT_EQ(render("{{ '4.5'|float }} {{ 2|float }} {{ '4.5'|int }}"), "4.5 2.0 4");
  // Python's round() is round-half-even.
  EXPECT_EQ(render("{{ 2.5|round }} {{ 3.5|round }} {{ 3.14159|round(2) }} {{ 3|round }}"),
            "2.0 4.0 3.14 3");
  EXPECT_EQ(render("{{ 2.1|round(0, 'ceil') }} {{ -3|abs }} {{ [1, 2, 3]|sum }} {{ [3, 1]|max }} "
                   "{{ [3, 1]|min }}"),
            "3.0 3 6 3 1");
}

TEST(JinjaFilters, Sequences) {
  EXPECT_EQ(render("{{ ['a', 'b']|join(', ') }} {{ [1, 2]|join }} {{ 'abc'|list }}"),
            "a, b 12 ['a', 'b', 'c']");
  EXPECT_EQ(render("{{ [1, 2]|first }}{{ [1, 2]|last }}{{ 'xy'|first }} {{ []|first is defined }}"),
            "12x False");
  EXPECT_EQ(
      render("{{ 'héllo'|length }} {{ {'a': 1}|length }} {{ missing|length }} {{ [1, 2]|count }}"),
      "5 1 0 2");
  EXPECT_EQ(
      render("{{ [3, 1, 2]|sort }} {{ ['b', 'A', 'a']|sort }} {{ [1, 2]|sort(reverse=true) }}"),
      "[1, 2, 3] ['A', 'a', 'b'] [2, 1]");
  EXPECT_EQ(render("{{ ['a', 'A', 'b']|unique|list }} {{ {'b': 1, 'A': 2}|dictsort }}"),
            "['a', 'b'] [('A', 2), ('b', 1)]");
  EXPECT_EQ(render("{{ [1, 2, 3]|reverse|list }} {{ 'abc'|reverse }} {{ {'a': 1}|items|list }}"),
            "[3, 2, 1] cba [('a', 1)]");
  EXPECT_EQ(render("{{ [1, 2, 3, 4]|batch(3)|list }}"), "[[1, 2, 3], [4]]");
}

TEST(JinjaFilters, SelectRejectMap) {
  const char* vars = R"({"users": [{"name": "a", "active": true, "role": "user"},
                                   {"name": "b", "active": false, "role": "assistant"},
                                   {"name": "c", "active": true, "role": "user"}]})";
  EXPECT_EQ(render("{{ users|selectattr('active')|map(attribute='name')|join(',') }}", vars),
            "a,c");
  EXPECT_EQ(render("{{ users|rejectattr('active')|map(attribute='name')|list }}", vars), "['b']");
  EXPECT_EQ(render("{{ users|selectattr('role', 'equalto', 'user')|list|length }}", vars), "2");
  EXPECT_EQ(
      render("{{ [1, 2, 3, 4]|select('even')|list }} {{ [1, 2, 3]|reject('equalto', 2)|list }}"),
      "[2, 4] [1, 3]");
  EXPECT_EQ(render("{{ ['a', 'b']|map('upper')|list }} {{ [0, 1, '']|select|list }}"),
            "['A', 'B'] [1]");
  EXPECT_EQ(render("{{ users|map(attribute='missing', default='-')|join }}", vars), "---");
}

TEST(JinjaFilters, Default) {
  EXPECT_EQ(render("{{ missing|default('d') }}|{{ ''|default('d') }}|{{ ''|default('d', true) }}|"
                   "{{ none|default('d') }}|{{ missing|d }}"),
            "d||d|None|");
}

TEST(JinjaTests, TypeTests) {
  EXPECT_EQ(render("{{ none is none }}{{ 1 is number }}{{ true is number }}{{ true is boolean }}"
                   "{{ 1 is boolean }}"),
            "TrueTrueTrueTrueFalse");
  EXPECT_EQ(render("{{ 'a' is string }}{{ {} is mapping }}{{ [] is mapping }}{{ 'a' is iterable }}"
                   "{{ 1 is iterable }}{{ missing is iterable }}"),
            "TrueTrueFalseTrueFalseTrue");
  EXPECT_EQ(
      render("{{ [] is sequence }}{{ 'x' is sequence }}{{ 1 is sequence }}{{ {} is sequence }}"),
      "TrueTrueFalseTrue");
  EXPECT_EQ(render("{{ false is false }}{{ 0 is false }}{{ true is true }}{{ 1 is true }}"),
            "TrueFalseTrueFalse");
  EXPECT_EQ(render("{{ 1 is integer }}{{ 1.0 is float }}{{ true is integer }}{{ 1 is float }}"),
            "TrueTrueFalseFalse");
  EXPECT_EQ(render("{{ x is defined }}{{ x is not defined }}{{ x is undefined }}"),
            "FalseTrueTrue");
  EXPECT_EQ(render("{{ range is callable }}{{ 'a' is callable }}"), "TrueFalse");
}

TEST(JinjaTests, ValueTests) {
  EXPECT_EQ(
      render("{{ 6 is divisibleby 3 }}{{ 5 is odd }}{{ 4 is even }}{{ 4 is divisibleby(3) }}"),
      "TrueTrueTrueFalse");
  EXPECT_EQ(render("{{ 2 is in [1, 2] }}{{ 'a' is equalto 'a' }}{{ 1 is eq 2 }}{{ 3 is gt 2 }}"),
            "TrueTrueFalseTrue");
  EXPECT_EQ(render("{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ 'aBc' is lower }}"),
            "TrueTrueFalse");
  EXPECT_EQ(render("{{ none is sameas none }}{{ 'upper' is filter }}{{ 'odd' is test }}"),
            "TrueTrueTrue");
}

TEST(JinjaMethods, StringMethods) {
  EXPECT_EQ(render("[{{ '  a b  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  a'.lstrip() }}|{{ 'a  "
                   "'.rstrip() }}]"),
            "[a b|a|a|a]");
  EXPECT_EQ(render("{{ 'a,b,,c'.split(',') }} {{ '  a  b '.split() }} {{ 'a b c'.split(' ', 1) }}"),
            "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c']");
  EXPECT_EQ(render("{{ 'x</think>y'.split('</think>')[-1] }} {{ 'a.b.c'.rsplit('.', 1) }}"),
            "y ['a.b', 'c']");
  // With maxsplit, the unsplit remainder keeps its outer whitespace.
  EXPECT_EQ(render("{{ '  a b  '.split(none, 1) }} {{ '  a b  '.rsplit(none, 1) }}"),
            "['a', 'b  '] ['  a', 'b']");
  EXPECT_EQ(render("{{ 'hello'.startswith('he') }}{{ 'hello'.endswith(('x', 'lo')) }}"
                   "{{ 'hello'.startswith('l', 2) }}"),
            "TrueTrueTrue");
  EXPECT_EQ(render("{{ 'hello world'.title() }} {{ 'ab'.upper() }} {{ 'AB'.lower() }}"),
            "Hello World AB ab");
  EXPECT_EQ(
      render("{{ 'aaa'.replace('a', 'b', 2) }} {{ 'hello'.find('l') }} {{ 'héllo'.find('l') }}"
             " {{ 'abc'.find('z') }} {{ 'banana'.count('a') }}"),
      "bba 2 2 -1 3");
  EXPECT_EQ(
      render("{{ ', '.join(['a', 'b']) }} {{ '{}-{}'.format(1, 'x') }} {{ 'ab'.center(6, '*') }}"),
      "a, b 1-x **ab**");
  EXPECT_EQ(render("{{ '12'.isdigit() }}{{ 'ab'.isalpha() }}{{ ' '.isspace() }}"), "TrueTrueTrue");
}

TEST(JinjaMethods, DictMethods) {
  const char* vars = R"({"d": {"a": 1, "b": null}})";
  EXPECT_EQ(
      render("{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 5) }} {{ d.get('b', 5) }}", vars),
      "1 None 5 None");
  EXPECT_EQ(render("{{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }}", vars),
            "['a', 'b'] [1, None] [('a', 1), ('b', None)]");
}

TEST(JinjaMethods, MutatingMethodsAreRefusedBySandbox) {
  EXPECT_NE(render_error("{{ [1].append(2) }}").find("SecurityError"), std::string::npos);
  EXPECT_NE(render_error("{% set d = {} %}{{ d.update({'a': 1}) }}").find("SecurityError"),
            std::string::npos);
  // Private attributes are not reachable; printing the refusal prints nothing.
  EXPECT_EQ(render("[{{ ''.__class__ }}]"), "[]");
  EXPECT_NE(render_error("{{ ''.__class__.__mro__ }}").find("SecurityError"), std::string::npos);
}

TEST(JinjaGlobals, RangeDictNamespace) {
  EXPECT_EQ(render("{{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(3, 0, -1)|list }}"),
            "[0, 1, 2] [1, 4, 7] [3, 2, 1]");
  EXPECT_EQ(render("{{ dict(a=1) }} {{ dict([('x', 2)]) }}"), "{'a': 1} {'x': 2}");
  EXPECT_NE(render_error("{{ range(1000000) }}").find("Range too big"), std::string::npos);
  EXPECT_EQ(render("{% set j = joiner('/') %}{% for x in 'abc' %}{{ j() }}{{ x }}{% endfor %}"),
            "a/b/c");
}

TEST(JinjaGlobals, RaiseExceptionAndStrftime) {
  EXPECT_NE(render_error("{{ raise_exception('boom') }}").find("TemplateError: boom"),
            std::string::npos);
  jinja::RenderOptions options;
  std::tm day{};
  day.tm_year = 2025 - 1900;
  day.tm_mon = 5;
  day.tm_mday = 15;
  day.tm_wday = 0;
  day.tm_yday = 165;
  options.now = day;
  EXPECT_EQ(render("{{ strftime_now('%Y-%m-%d|%d %b %Y|%B %d, %Y|%A') }}", "{}", options),
            "2025-06-15|15 Jun 2025|June 15, 2025|Sunday");
}

}  // namespace
}  // namespace mlxlm::chat
