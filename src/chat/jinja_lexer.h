#pragma once
// Splits template source into tokens the way Jinja2's lexer does when configured like
// transformers (trim_blocks, lstrip_blocks, keep_trailing_newline=False): template text, the
// `{{ }}` / `{% %}` delimiters and the expression tokens inside them. Whitespace control
// (`-`, `+`, trim_blocks, lstrip_blocks), comments and `{% raw %}` are resolved here, so the
// parser only sees text and tags.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mlxlm::chat::jinja {

enum class TokenType {
  Text,
  VarBegin,
  VarEnd,
  BlockBegin,
  BlockEnd,
  Name,
  String,
  Integer,
  Float,
  Operator,
  End,
};

struct Token {
  TokenType type = TokenType::End;
  std::string text;  // Text / Name / Operator: as written; String: the unescaped value
  int64_t int_value = 0;
  double float_value = 0;
  size_t offset = 0;  // byte offset in the normalized source
};

struct LexerOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

// Line and column (1-based) of byte offsets in the normalized source, for error messages.
class SourceMap {
 public:
  explicit SourceMap(const std::string& source);
  std::string describe(size_t offset) const;  // "line L, column C"

 private:
  std::vector<size_t> line_starts_;
};

// Newlines normalized to "\n" and, unless kept, one trailing newline dropped: the text that
// token offsets refer to.
std::string normalize_source(const std::string& source, const LexerOptions& options);

// Tokenizes normalized source. Throws InvalidInput("chat", "... line L, column C ...").
std::vector<Token> tokenize(const std::string& normalized, const LexerOptions& options);

// Throws the syntax error for `offset` in `source`.
[[noreturn]] void syntax_error(const std::string& source, size_t offset,
                               const std::string& message);

}  // namespace mlxlm::chat::jinja
