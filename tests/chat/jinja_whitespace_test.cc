// Whitespace control as Jinja2 does it with trim_blocks and lstrip_blocks on (transformers'
// setup). Expected strings follow Jinja2's lexer rules, worked out by hand.
#include <gtest/gtest.h>

#include "render_helper.h"

namespace mlxlm::chat {
namespace {

using testing::render;

TEST(JinjaWhitespace, TrimBlocksEatsOneNewlineAfterATag) {
  EXPECT_EQ(render("{% if true %}\nyes\n{% endif %}\nafter"), "yes\nafter");
  EXPECT_EQ(render("{% if true %}\n\nyes{% endif %}"), "\nyes");
}

TEST(JinjaWhitespace, OneTrailingNewlineOfTheTemplateIsDropped) {
  EXPECT_EQ(render("x\n"), "x");
  EXPECT_EQ(render("x\n\n"), "x\n");
  EXPECT_EQ(render("a\r\nb"), "a\nb");
}

TEST(JinjaWhitespace, LstripBlocksRemovesIndentationBeforeBlockTags) {
  EXPECT_EQ(render("  {% if true %}x{% endif %}"), "x");
  EXPECT_EQ(render("a\n    {% if true %}x\n    {% endif %}b"), "a\nx\nb");
  // Text before the tag on the same line is kept.
  EXPECT_EQ(render("a  {% if true %}x{% endif %}"), "a  x");
  // Only at a line start: after `}}` on the same line the spaces stay.
  EXPECT_EQ(render("{{ 'a' }}  {% if true %}x{% endif %}"), "a  x");
  // Variable tags are never lstripped.
  EXPECT_EQ(render("  {{ 'x' }}"), "  x");
}

TEST(JinjaWhitespace, PlusDisablesLstripAndTrim) {
  EXPECT_EQ(render("  {%+ if true %}x{% endif %}"), "  x");
  EXPECT_EQ(render("{% if true +%}\nx{% endif %}"), "\nx");
}

TEST(JinjaWhitespace, MinusStripsAllWhitespaceOnItsSide) {
  EXPECT_EQ(render("x  \n {{- 'a' -}} \n\n y"), "xay");
  EXPECT_EQ(render("{% if true -%}\n   x  {%- endif %}"), "x");
  EXPECT_EQ(render("a\n\n{%- if true %}b{% endif %}"), "ab");
}

TEST(JinjaWhitespace, VariableTagsDoNotTrimNewlines) { EXPECT_EQ(render("{{ 'a' }}\nb"), "a\nb"); }

TEST(JinjaWhitespace, CommentsAreRemovedWithTheirLine) {
  EXPECT_EQ(render("a\n  {# note #}\nb"), "a\nb");
  EXPECT_EQ(render("a {#- note -#} b"), "ab");
  EXPECT_EQ(render("{# multi\nline #}x"), "x");
}

TEST(JinjaWhitespace, RawBlocksKeepTheirText) {
  EXPECT_EQ(render("{% raw %}{{ x }}{% if %}{% endraw %}"), "{{ x }}{% if %}");
  EXPECT_EQ(render("{%- raw -%}  a  {%- endraw %}"), "a");
}

TEST(JinjaWhitespace, IndentedTemplateLikeRealChatTemplates) {
  const char* src =
      "{%- for m in messages %}\n"
      "    {%- if m.role == 'user' %}\n"
      "        {{- '<u>' + m.content }}\n"
      "    {%- else %}\n"
      "        {{- '<a>' + m.content }}\n"
      "    {%- endif %}\n"
      "{%- endfor %}\n";
  EXPECT_EQ(render(src, R"({"messages": [{"role": "user", "content": "hi"},
                                          {"role": "assistant", "content": "yo"}]})"),
            "<u>hi<a>yo");
}

}  // namespace
}  // namespace mlxlm::chat
