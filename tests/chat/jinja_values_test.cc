// How values print and compute: Python's str()/repr(), json.dumps as transformers' tojson,
// arithmetic, comparisons, slicing. Expected values follow Python 3 semantics.
#include <gtest/gtest.h>

#include "render_helper.h"

namespace mlxlm::chat {
namespace {

using testing::render;
using testing::render_error;

TEST(JinjaValues, PrintsLikePythonStr) {
  EXPECT_EQ(render("{{ none }}|{{ true }}|{{ False }}|{{ 1.0 }}|{{ 42 }}"),
            "None|True|False|1.0|42");
  EXPECT_EQ(render("{{ [1, 'a', none, true] }}"), "[1, 'a', None, True]");
  EXPECT_EQ(render("{{ {'a': 1, 'b': [2]} }}"), "{'a': 1, 'b': [2]}");
  EXPECT_EQ(render("{{ ('x',) }}|{{ (1, 2) }}|{{ () }}"), "('x',)|(1, 2)|()");
  EXPECT_EQ(render("{{ missing }}"), "");
}

TEST(JinjaValues, ReprOfStringsPicksQuotesAndEscapes) {
  EXPECT_EQ(render(R"({{ ["it's"] }})"), R"(["it's"])");
  EXPECT_EQ(render(R"({{ ['a"b'] }})"), R"(['a"b'])");
  EXPECT_EQ(render(R"({{ ["a'b\"c"] }})"), R"(['a\'b"c'])");
  EXPECT_EQ(render(R"({{ ['\n\t\\'] }})"), R"(['\n\t\\'])");
  EXPECT_EQ(render(R"({{ ['é', '\x01'] }})"), R"(['é', '\x01'])");
}

TEST(JinjaValues, FloatsPrintAsPythonRepr) {
  EXPECT_EQ(render("{{ 0.1 + 0.2 }}"), "0.30000000000000004");
  EXPECT_EQ(render("{{ 1 / 3 }}"), "0.3333333333333333");
  EXPECT_EQ(render("{{ 10 / 2 }}"), "5.0");
  EXPECT_EQ(render("{{ 1e20 }}|{{ 1e-5 }}|{{ 1.5e16 }}|{{ 0.0001 }}"),
            "1e+20|1e-05|1.5e+16|0.0001");
  EXPECT_EQ(render("{{ 123456789012345678.0 }}"), "1.2345678901234568e+17");
  EXPECT_EQ(render("{{ -0.0 }}|{{ 2.5e15 }}"), "-0.0|2500000000000000.0");
}

TEST(JinjaValues, JsonInputKeepsKeyOrder) {
  const char* vars = R"({"d": {"z": 1, "a": [true, null, 1.5, "x"]}})";
  EXPECT_EQ(render("{{ d }}", vars), "{'z': 1, 'a': [True, None, 1.5, 'x']}");
  EXPECT_EQ(render("{{ d|tojson }}", vars), R"({"z": 1, "a": [true, null, 1.5, "x"]})");
}

TEST(JinjaValues, TojsonMatchesPythonJsonDumps) {
  const char* vars = R"({"d": {"z": 1, "a": [true, null]}})";
  EXPECT_EQ(render("{{ d|tojson(indent=2) }}", vars),
            "{\n  \"z\": 1,\n  \"a\": [\n    true,\n    null\n  ]\n}");
  EXPECT_EQ(render("{{ {}|tojson(indent=4) }}{{ []|tojson }}"), "{}[]");
  // ensure_ascii=False and no HTML escaping, unlike Jinja2's own tojson.
  EXPECT_EQ(render(R"({{ "é<>&'\n\"\x01"|tojson }})"), R"("é<>&'\n\"\u0001")");
  EXPECT_EQ(render("{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}"), R"({"a": 2, "b": 1})");
  EXPECT_EQ(render("{{ {'a': [1, 2]}|tojson(separators=(',', ':')) }}"), R"({"a":[1,2]})");
  EXPECT_EQ(render("{{ {1: 2.0, none: 'x'}|tojson }}"), R"({"1": 2.0, "null": "x"})");
  EXPECT_NE(render_error("{{ missing|tojson }}").find("not JSON serializable"), std::string::npos);
}

TEST(JinjaValues, Arithmetic) {
  EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }}"), "3 -4 2 -2");
  EXPECT_EQ(render("{{ 2 ** 10 }} {{ 7 / 2 }} {{ 1 + true }} {{ 2 * 1.5 }}"), "1024 3.5 2 3.0");
  EXPECT_EQ(render("{{ 'ab' * 3 }} {{ [1] + [2] }} {{ 2 * [0] }}"), "ababab [1, 2] [0, 0]");
  EXPECT_EQ(render("{{ 'a' ~ 1 ~ none ~ missing }}"), "a1None");
  // Jinja parses unary minus before **: (-2) ** 2.
  EXPECT_EQ(render("{{ -2 ** 2 }}"), "4");
  EXPECT_EQ(render("{{ items|length - 1 }}", R"({"items": [1, 2, 3]})"), "2");
}

TEST(JinjaValues, LogicReturnsOperands) {
  EXPECT_EQ(render("{{ none or 'd' }}|{{ 0 and 1 }}|{{ 'a' and 'b' }}|{{ not [] }}"), "d|0|b|True");
  EXPECT_EQ(render("{{ 'y' if 1 else 'n' }}|{{ 'x' if false }}|"), "y||");
}

TEST(JinjaValues, Comparisons) {
  EXPECT_EQ(render("{{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' != 'b' }} {{ [1, 2] == [1, 2] }}"),
            "True True True True");
  EXPECT_EQ(render("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'abc' < 'abd' }} {{ [1, 2] < [1, 3] }}"),
            "True False True True");
  EXPECT_EQ(
      render("{{ 'a' in 'cat' }} {{ 2 not in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 1 in missing }}"),
      "True False True False");
  EXPECT_EQ(render("{{ {'a': 1, 'b': 2} == {'b': 2, 'a': 1} }} {{ missing == none }}"),
            "True False");
}

TEST(JinjaValues, IndexingAndSlicing) {
  EXPECT_EQ(render("{{ [1, 2, 3, 4][1:3] }} {{ [1, 2, 3][::-1] }} {{ [1, 2, 3, 4, 5][-2:] }}"),
            "[2, 3] [3, 2, 1] [4, 5]");
  EXPECT_EQ(render("{{ 'héllo'[1:4] }} {{ 'héllo'[-1] }} {{ 'abcdef'[::2] }} {{ 'héllo'|length }}"),
            "éll o ace 5");
  EXPECT_EQ(render("[{{ [1, 2][5] }}] {{ [1, 2, 3][-1] }} {{ (1, 2)[0] }} {{ {'a': 1}['a'] }}"),
            "[] 3 1 1");
  EXPECT_EQ(
      render("{{ messages[0].role }}{{ messages.0.role }}", R"({"messages": [{"role": "user"}]})"),
      "useruser");
}

TEST(JinjaValues, AttributeAndItemLookupFallBackOnEachOther) {
  const char* vars = R"({"d": {"items": 1, "x": 2}})";
  // d.x finds the item; d['items'] the item; d.items the dict method.
  EXPECT_EQ(render("{{ d.x }} {{ d['items'] }} {{ d.items()|list|length }}", vars), "2 1 2");
  EXPECT_EQ(render("[{{ d.nothing }}] {{ d.nothing is defined }}", vars), "[] False");
  EXPECT_EQ(render("{{ 'abc'['upper']() }}"), "ABC");
}

TEST(JinjaValues, TypeErrorsReadLikePython) {
  EXPECT_NE(render_error("{{ 'a' + 1 }}")
                .find(R"(TypeError: can only concatenate str (not "int") to str)"),
            std::string::npos);
  EXPECT_NE(render_error("{{ 1 + 'a' }}")
                .find("TypeError: unsupported operand type(s) for +: 'int' and 'str'"),
            std::string::npos);
  // `~` binds tighter than `+`: ('a' ~ 1) + 2.
  EXPECT_NE(render_error("{{ 'a' ~ 1 + 2 }}").find("can only concatenate str"), std::string::npos);
  EXPECT_NE(render_error("{{ 'a' in none }}").find("argument of type 'NoneType' is not iterable"),
            std::string::npos);
  EXPECT_NE(
      render_error("{{ 1 < 'a' }}").find("'<' not supported between instances of 'int' and 'str'"),
      std::string::npos);
  EXPECT_NE(render_error("{{ 1 // 0 }}").find("ZeroDivisionError"), std::string::npos);
}

}  // namespace
}  // namespace mlxlm::chat
