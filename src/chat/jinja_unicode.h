#pragma once
// The slice of Python's str semantics that templates observe: strings index and measure in code
// points, strip()/split() use Unicode whitespace, upper()/lower() map letters beyond ASCII, and
// repr() escapes characters that are not printable.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mlxlm::chat::jinja::uni {

std::vector<uint32_t> decode(std::string_view s);
std::string encode(const std::vector<uint32_t>& cps, size_t begin, size_t end);
size_t length(std::string_view s);

// str.isspace() for one code point.
bool is_space(uint32_t cp);
// str.isprintable() for one code point (approximate outside the common blocks).
bool is_printable(uint32_t cp);
// Cased letters in the Latin, Greek, Cyrillic and Armenian blocks; other scripts are uncased.
bool is_upper(uint32_t cp);
bool is_lower(uint32_t cp);
uint32_t to_upper(uint32_t cp);
uint32_t to_lower(uint32_t cp);
bool is_alpha(uint32_t cp);
bool is_digit(uint32_t cp);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
// str.title(): the first cased letter after an uncased character goes up, the rest down.
std::string title(std::string_view s);
std::string capitalize(std::string_view s);

// str.strip / lstrip / rstrip; `chars` null means whitespace.
std::string strip(std::string_view s, const std::string* chars, bool left, bool right);

}  // namespace mlxlm::chat::jinja::uni
