#pragma once
// Patterns of tokenizer.json ({"String": ...} or {"Regex": ...}) and the match list HF's
// tokenizers computes from them. Regexes use Oniguruma, the engine HF's Rust tokenizers uses, so
// \s, \p{..}, possessive quantifiers and atomic groups mean exactly what they mean there.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/json.h"

namespace mlxlm::tok {

struct Match {
  size_t start;
  size_t end;
};

// A compiled Oniguruma regex (UTF-8, default syntax, as the Rust `onig` crate compiles it).
class Regex {
 public:
  // Throws InvalidInput naming `where` when the pattern does not compile.
  Regex(std::string_view pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  // Non-overlapping matches, left to right, skipping an empty match right after the previous
  // match (the `onig` crate's find_iter). `text` must be valid UTF-8.
  void find_all(std::string_view text, std::vector<Match>& out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* regex_ = nullptr;  // OnigRegex; kept opaque so callers need not include oniguruma.h
};

// A literal string or a regex.
class Pattern {
 public:
  // `j` is {"String": s} or {"Regex": r} (a bare string is taken as a literal).
  Pattern(const Json& j, const std::string& where);
  void find_all(std::string_view text, std::vector<Match>& out) const;
  bool is_literal() const { return regex_ == nullptr; }
  const std::string& literal() const { return literal_; }
  const Regex* regex() const { return regex_.get(); }

 private:
  std::string literal_;
  std::unique_ptr<Regex> regex_;
};

// Replaces every match of `pattern` in `text` by `content`.
std::string replace_all(const Pattern& pattern, std::string_view text, std::string_view content);

}  // namespace mlxlm::tok
