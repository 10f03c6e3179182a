#include "chat/jinja_lexer.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "base/error.h"
#include "base/utf8.h"
#include "chat/jinja_unicode.h"

namespace mlxlm::chat::jinja {

SourceMap::SourceMap(const std::string& source) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\n') line_starts_.push_back(i + 1);
  }
}

std::string SourceMap::describe(size_t offset) const {
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  size_t line = static_cast<size_t>(it - line_starts_.begin());
  size_t col = offset - line_starts_[line - 1] + 1;
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

void syntax_error(const std::string& source, size_t offset, const std::string& message) {
  throw InvalidInput(
      "chat", "template syntax error at " + SourceMap(source).describe(offset) + ": " + message);
}

std::string normalize_source(const std::string& source, const LexerOptions& options) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!options.keep_trailing_newline && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Python's str.rstrip() (Unicode whitespace).
std::string rstrip_text(const std::string& s) { return uni::strip(s, nullptr, false, true); }

// True when `s` is non-empty and all whitespace (Python's \s+ fullmatch).
bool all_whitespace(std::string_view s) {
  if (s.empty()) return false;
  size_t i = 0;
  while (i < s.size()) {
    if (!uni::is_space(utf8::next(s, i))) return false;
  }
  return true;
}

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
 public:
  Lexer(const std::string& src, const LexerOptions& o) : s_(src), o_(o) {}

  std::vector<Token> run() {
    while (pos_ < s_.size()) {
      size_t tag = find_tag(pos_);
      if (tag == std::string::npos) {
        emit_text(s_.substr(pos_), pos_);
        break;
      }
      char kind = s_[tag + 1];
      size_t after = tag + 2;
      char sign = (after < s_.size() && (s_[after] == '-' || s_[after] == '+')) ? s_[after] : 0;
      std::string text = s_.substr(pos_, tag - pos_);
      size_t raw_body = 0;
      bool raw = kind == '%' && match_raw_begin(tag, raw_body);
      if (sign == '-') {
        text = rstrip_text(text);
      } else if (sign != '+' && o_.lstrip_blocks && kind != '{') {
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if ((l_pos > 0 || line_starting_) && all_whitespace(std::string_view(text).substr(l_pos))) {
          text.resize(l_pos);
        }
      }
      emit_text(text, pos_);
      if (raw) {
        lex_raw(raw_body);
      } else if (kind == '#') {
        lex_comment(after + (sign ? 1 : 0));
      } else {
        lex_tag(kind, tag, after + (sign ? 1 : 0));
      }
    }
    Token end;
    end.type = TokenType::End;
    end.offset = s_.size();
    tokens_.push_back(end);
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = s_.find('{', from); i != std::string::npos; i = s_.find('{', i + 1)) {
      if (i + 1 < s_.size() && (s_[i + 1] == '{' || s_[i + 1] == '%' || s_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  void emit_text(const std::string& text, size_t offset) {
    if (text.empty()) return;
    Token t;
    t.type = TokenType::Text;
    t.text = text;
    t.offset = offset;
    tokens_.push_back(std::move(t));
  }

  void push(TokenType type, std::string text, size_t offset) {
    Token t;
    t.type = type;
    t.text = std::move(text);
    t.offset = offset;
    tokens_.push_back(std::move(t));
  }

  size_t skip_ws(size_t p) const {
    while (p < s_.size() && is_ascii_space(s_[p])) ++p;
    return p;
  }

  bool word_at(size_t p, const char* word) const {
    size_t n = std::strlen(word);
    return s_.compare(p, n, word) == 0 && (p + n >= s_.size() || !is_name_char(s_[p + n]));
  }

  // `{%(-|+|)\s*raw\s*(-%}\s*|%})`; on success `body` is where the raw text starts.
  bool match_raw_begin(size_t tag, size_t& body) const {
    size_t p = tag + 2;
    if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) ++p;
    p = skip_ws(p);
    if (!word_at(p, "raw")) return false;
    p = skip_ws(p + 3);
    if (s_.compare(p, 3, "-%}") == 0) {
      body = skip_ws(p + 3);
      return true;
    }
    if (s_.compare(p, 2, "%}") == 0) {
      body = p + 2;
      return true;
    }
    return false;
  }

  // Consumes a block end at p (`+%}`, `-%}\s*`, `%}\n?`); returns false if none is there.
  bool match_block_end(size_t p, size_t& end) const {
    if (s_.compare(p, 3, "+%}") == 0) {
      end = p + 3;
      return true;
    }
    if (s_.compare(p, 3, "-%}") == 0) {
      end = skip_ws(p + 3);
      return true;
    }
    if (s_.compare(p, 2, "%}") == 0) {
      end = p + 2;
      if (o_.trim_blocks && end < s_.size() && s_[end] == '\n') ++end;
      return true;
    }
    return false;
  }

  void finish_at(size_t end) {
    line_starting_ = end > 0 && s_[end - 1] == '\n';
    pos_ = end;
  }

  void lex_raw(size_t body) {
    for (size_t i = s_.find("{%", body); i != std::string::npos; i = s_.find("{%", i + 1)) {
      size_t p = i + 2;
      char sign = 0;
      if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) sign = s_[p++];
      p = skip_ws(p);
      if (!word_at(p, "endraw")) continue;
      size_t end = 0;
      if (!match_block_end(skip_ws(p + 6), end)) continue;
      std::string text = s_.substr(body, i - body);
      if (sign == '-') {
        text = rstrip_text(text);
      } else if (sign != '+' && o_.lstrip_blocks) {
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if (l_pos > 0 && all_whitespace(std::string_view(text).substr(l_pos))) text.resize(l_pos);
      }
      emit_text(text, body);
      finish_at(end);
      return;
    }
    syntax_error(s_, body, "missing end of raw directive");
  }

  void lex_comment(size_t p) {
    size_t q = s_.find("#}", p);
    if (q == std::string::npos) syntax_error(s_, p, "missing end of comment tag");
    size_t end = q + 2;
    if (q > p && s_[q - 1] == '-') {
      end = skip_ws(end);
    } else if (q > p && s_[q - 1] == '+') {
      // `+#}` keeps the newline that trim_blocks would remove.
    } else if (o_.trim_blocks && end < s_.size() && s_[end] == '\n') {
      ++end;
    }
    finish_at(end);
  }

  void lex_tag(char kind, size_t tag, size_t p) {
    bool block = kind == '%';
    push(block ? TokenType::BlockBegin : TokenType::VarBegin, "", tag);
    std::vector<char> balance;
    while (true) {
      if (p >= s_.size()) {
        syntax_error(s_, tag,
                     block ? "unexpected end of template, missing '%}'"
                           : "unexpected end of template, missing '}}'");
      }
      if (balance.empty()) {
        size_t end = 0;
        if (block && match_block_end(p, end)) {
          push(TokenType::BlockEnd, "", p);
          finish_at(end);
          return;
        }
        if (!block && s_.compare(p, 3, "-}}") == 0) {
          push(TokenType::VarEnd, "", p);
          finish_at(skip_ws(p + 3));
          return;
        }
        if (!block && s_.compare(p, 2, "}}") == 0) {
          push(TokenType::VarEnd, "", p);
          finish_at(p + 2);
          return;
        }
      }
      char c = s_[p];
      if (is_ascii_space(c)) {
        p = skip_ws(p);
      } else if (is_digit(c)) {
        p = lex_number(p);
      } else if (is_name_start(c)) {
        size_t e = p;
        while (e < s_.size() && is_name_char(s_[e])) ++e;
        push(TokenType::Name, s_.substr(p, e - p), p);
        p = e;
      } else if (c == '\'' || c == '"') {
        p = lex_string(p);
      } else {
        p = lex_operator(p, balance);
      }
    }
  }

  size_t digits_with_underscores(size_t p) const {
    // (\d+_)*\d+
    size_t e = p;
    while (e < s_.size() && (is_digit(s_[e]) ||
                             (s_[e] == '_' && e + 1 < s_.size() && is_digit(s_[e + 1]) && e > p))) {
      ++e;
    }
    return e;
  }

  size_t lex_number(size_t p) {
    auto clean = [](std::string t) {
      t.erase(std::remove(t.begin(), t.end(), '_'), t.end());
      return t;
    };
    // Float: digits, then a fraction and/or an exponent.
    size_t e = digits_with_underscores(p);
    size_t f = e;
    bool is_float = false;
    if (f + 1 < s_.size() && s_[f] == '.' && is_digit(s_[f + 1])) {
      f = digits_with_underscores(f + 1);
      is_float = true;
    }
    if (f < s_.size() && (s_[f] == 'e' || s_[f] == 'E')) {
      size_t x = f + 1;
      if (x < s_.size() && (s_[x] == '+' || s_[x] == '-')) ++x;
      if (x < s_.size() && is_digit(s_[x])) {
        f = digits_with_underscores(x);
        is_float = true;
      }
    }
    bool after_dot = p > 0 && s_[p - 1] == '.';
    if (is_float && !after_dot) {
      Token t;
      t.type = TokenType::Float;
      t.text = s_.substr(p, f - p);
      t.float_value = std::strtod(clean(t.text).c_str(), nullptr);
      t.offset = p;
      tokens_.push_back(std::move(t));
      return f;
    }
    // Integer: 0b / 0o / 0x prefixes, or decimal.
    int base = 10;
    size_t start = p;
    if (s_[p] == '0' && p + 1 < s_.size()) {
      char x = static_cast<char>(s_[p + 1] | 0x20);
      if (x == 'b' || x == 'o' || x == 'x') {
        base = x == 'b' ? 2 : x == 'o' ? 8 : 16;
        start = p + 2;
      }
    }
    size_t q = start;
    auto valid = [&](char ch) {
      if (ch == '_') return true;
      if (base == 16) return std::isxdigit(static_cast<unsigned char>(ch)) != 0;
      return ch >= '0' && ch < static_cast<char>('0' + base);
    };
    if (base == 10) {
      q = (s_[p] == '0') ? p + 1 : digits_with_underscores(p);
      while (s_[p] == '0' && q < s_.size() && (s_[q] == '0' || s_[q] == '_')) ++q;
    } else {
      while (q < s_.size() && valid(s_[q])) ++q;
      if (q == start) syntax_error(s_, p, "invalid integer literal");
    }
    Token t;
    t.type = TokenType::Integer;
    t.text = s_.substr(p, q - p);
    std::string digits = clean(s_.substr(start, q - start));
    errno = 0;
    unsigned long long v = std::strtoull(digits.c_str(), nullptr, base);
    if (errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX)) {
      syntax_error(s_, p, "integer literal too large");
    }
    t.int_value = static_cast<int64_t>(v);
    t.offset = p;
    tokens_.push_back(std::move(t));
    return q;
  }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(c | 0x20);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  }

  size_t lex_string(size_t p) {
    char quote = s_[p];
    size_t q = p + 1;
    while (q < s_.size() && s_[q] != quote) q += (s_[q] == '\\') ? 2 : 1;
    if (q >= s_.size()) syntax_error(s_, p, "unterminated string literal");
    // Python's unicode-escape decoding: unknown escapes keep their backslash.
    std::string out;
    for (size_t i = p + 1; i < q; ++i) {
      char c = s_[i];
      if (c != '\\') {
        out += c;
        continue;
      }
      char e = s_[++i];
      switch (e) {
        case '\n':
          break;
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        case 'x':
        case 'u':
        case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (size_t k = 0; k < n; ++k) {
            int h = (i + 1 + k < q) ? hex_value(s_[i + 1 + k]) : -1;
            if (h < 0) syntax_error(s_, i - 1, std::string("truncated \\") + e + " escape");
            cp = cp * 16 + static_cast<uint32_t>(h);
          }
          if (cp > 0x10ffff) syntax_error(s_, i - 1, "illegal Unicode character");
          utf8::append(out, cp);
          i += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && i + 1 < q && s_[i + 1] >= '0' && s_[i + 1] <= '7'; ++k) {
              cp = cp * 8 + static_cast<uint32_t>(s_[++i] - '0');
            }
            utf8::append(out, cp);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    Token t;
    t.type = TokenType::String;
    t.text = std::move(out);
    t.offset = p;
    tokens_.push_back(std::move(t));
    return q + 1;
  }

  size_t lex_operator(size_t p, std::vector<char>& balance) {
    static const char* two[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : two) {
      if (s_.compare(p, 2, op) == 0) {
        push(TokenType::Operator, op, p);
        return p + 2;
      }
    }
    char c = s_[p];
    if (std::strchr("+-/*%~[](){}=.:|,;<>", c) == nullptr) {
      size_t i = p;
      uint32_t cp = utf8::next(s_, i);
      std::string shown;
      utf8::append(shown, cp);
      syntax_error(s_, p, "unexpected char '" + shown + "'");
    }
    if (c == '(' || c == '[' || c == '{') {
      balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    } else if (c == ')' || c == ']' || c == '}') {
      if (balance.empty()) syntax_error(s_, p, std::string("unexpected '") + c + "'");
      char expected = balance.back();
      balance.pop_back();
      if (expected != c) {
        syntax_error(s_, p, std::string("unexpected '") + c + "', expected '" + expected + "'");
      }
    }
    push(TokenType::Operator, std::string(1, c), p);
    return p + 1;
  }

  const std::string& s_;
  const LexerOptions& o_;
  size_t pos_ = 0;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(const std::string& normalized, const LexerOptions& options) {
  return Lexer(normalized, options).run();
}

}  // namespace mlxlm::chat::jinja
