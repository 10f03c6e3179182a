#pragma once
// Unicode properties (Unicode 14.0, the version Oniguruma 6.9.8 uses), strict UTF-8 decoding and
// normalization forms, for normalizers, pre-tokenizers and the hand-written split matchers.
#include <cstdint>
#include <string>
#include <string_view>

namespace mlxlm::unicode {

// General categories, in the order of the generated tables.
enum Category : uint8_t {
  Cn,
  Lu,
  Ll,
  Lt,
  Lm,
  Lo,
  Mn,
  Mc,
  Me,
  Nd,
  Nl,
  No,
  Pc,
  Pd,
  Ps,
  Pe,
  Pi,
  Pf,
  Po,
  Sm,
  Sc,
  Sk,
  So,
  Zs,
  Zl,
  Zp,
  Cc,
  Cf,
  Cs,
  Co
};

Category category(uint32_t cp);
inline bool is_letter(Category c) { return c >= Lu && c <= Lo; }
inline bool is_mark(Category c) { return c >= Mn && c <= Me; }
inline bool is_number(Category c) { return c >= Nd && c <= No; }
inline bool is_punct(Category c) { return c >= Pc && c <= Po; }
inline bool is_symbol(Category c) { return c >= Sm && c <= So; }
inline bool is_other(Category c) { return c == Cn || c >= Cc; }
inline bool is_letter(uint32_t cp) { return is_letter(category(cp)); }
inline bool is_number(uint32_t cp) { return is_number(category(cp)); }
inline bool is_punct(uint32_t cp) { return is_punct(category(cp)); }

// The White_Space property (what Oniguruma's \s matches: includes U+0085, excludes U+FEFF).
bool is_white_space(uint32_t cp);
uint8_t combining_class(uint32_t cp);

// Decodes one code point at s[i] and advances i. Ill-formed input yields U+FFFD per maximal
// subpart (the WHATWG / Unicode recommended practice, as Rust's from_utf8_lossy and
// JavaScript's TextDecoder do).
// When the input ends inside a sequence that more bytes could complete, sets *truncated.
uint32_t decode(std::string_view s, size_t& i, bool* truncated = nullptr);
bool is_valid_utf8(std::string_view s);
// `s` with every ill-formed subsequence replaced by U+FFFD.
std::string to_valid_utf8(std::string_view s);
// Length of the longest prefix of `s` that lossy decoding treats the same whatever bytes follow:
// everything except a trailing sequence that more bytes could still complete.
size_t stable_prefix(std::string_view s);

std::string nfd(std::string_view s);
std::string nfkd(std::string_view s);
std::string nfc(std::string_view s);
std::string nfkc(std::string_view s);
// Full lowercase mapping (as Rust char::to_lowercase and JavaScript toLowerCase).
std::string lowercase(std::string_view s);
// Removes combining marks (General_Category M), as HF StripAccents does after NFD.
std::string strip_marks(std::string_view s);

}  // namespace mlxlm::unicode
