#include "chat/jinja_unicode.h"

#include <algorithm>

#include "base/utf8.h"

namespace mlxlm::chat::jinja::uni {

std::vector<uint32_t> decode(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) out.push_back(utf8::next(s, i));
  return out;
}

std::string encode(const std::vector<uint32_t>& cps, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) utf8::append(out, cps[i]);
  return out;
}

size_t length(std::string_view s) {
  size_t n = 0;
  size_t i = 0;
  while (i < s.size()) {
    utf8::next(s, i);
    ++n;
  }
  return n;
}

bool is_space(uint32_t cp) {
  if (cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x1f)) return true;
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

bool is_printable(uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0)) return false;
  if (cp < 0x7f) return true;
  // Separators (Z*) and format / private-use characters (Cf, Co) are not printable.
  if (cp == 0xad || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200f) ||
      (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x2064) ||
      (cp >= 0x2066 && cp <= 0x206f) || cp == 0x3000 || cp == 0xfeff ||
      (cp >= 0xfff9 && cp <= 0xfffb) || (cp >= 0xe000 && cp <= 0xf8ff) ||
      (cp >= 0x600 && cp <= 0x605) || cp == 0x61c || cp == 0x6dd || cp == 0x70f || cp == 0x180e ||
      (cp >= 0xd800 && cp <= 0xdfff) || cp >= 0xf0000 || (cp >= 0xe0000 && cp <= 0xe007f)) {
    return false;
  }
  return true;
}

namespace {

// Letters whose case pairs sit at even/odd neighbours (Latin Extended-A and similar).
bool alternating_block(uint32_t cp) {
  return (cp >= 0x100 && cp <= 0x137) || (cp >= 0x14a && cp <= 0x177) ||
         (cp >= 0x1e00 && cp <= 0x1eff) || (cp >= 0x460 && cp <= 0x481) ||
         (cp >= 0x48a && cp <= 0x4bf) || (cp >= 0x4d0 && cp <= 0x52f);
}

bool odd_alternating_block(uint32_t cp) {
  return (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e) ||
         (cp >= 0x4c1 && cp <= 0x4ce);
}

}  // namespace

bool is_upper(uint32_t cp) {
  if (cp < 0x80) return cp >= 'A' && cp <= 'Z';
  if (cp >= 0xc0 && cp <= 0xde) return cp != 0xd7;
  if (alternating_block(cp)) return cp % 2 == 0;
  if (odd_alternating_block(cp)) return cp % 2 == 1;
  if (cp >= 0x391 && cp <= 0x3ab) return cp != 0x3a2;
  if (cp >= 0x400 && cp <= 0x42f) return true;
  if (cp >= 0x531 && cp <= 0x556) return true;
  return false;
}

bool is_lower(uint32_t cp) {
  if (cp < 0x80) return cp >= 'a' && cp <= 'z';
  if (cp >= 0xdf && cp <= 0xff) return cp != 0xf7;
  if (cp == 0xb5) return true;
  if (alternating_block(cp)) return cp % 2 == 1;
  if (odd_alternating_block(cp)) return cp % 2 == 0;
  if (cp >= 0x3ac && cp <= 0x3ce) return true;
  if (cp >= 0x430 && cp <= 0x45f) return true;
  if (cp >= 0x561 && cp <= 0x586) return true;
  return false;
}

uint32_t to_upper(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') ? cp - 32 : cp;
  if (!is_lower(cp)) return cp;
  if (cp >= 0xe0 && cp <= 0xfe) return cp - 32;
  if (cp == 0xff) return 0x178;
  if (alternating_block(cp) || odd_alternating_block(cp)) return cp - 1;
  if (cp == 0x3c2) return 0x3a3;
  if (cp >= 0x3b1 && cp <= 0x3cb) return cp - 32;
  if (cp == 0x3ac) return 0x386;
  if (cp >= 0x3ad && cp <= 0x3af) return cp - 37;
  if (cp == 0x3cc) return 0x38c;
  if (cp == 0x3cd || cp == 0x3ce) return cp - 63;
  if (cp >= 0x430 && cp <= 0x44f) return cp - 32;
  if (cp >= 0x450 && cp <= 0x45f) return cp - 80;
  if (cp >= 0x561 && cp <= 0x586) return cp - 48;
  return cp;
}

uint32_t to_lower(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  if (!is_upper(cp)) return cp;
  if (cp >= 0xc0 && cp <= 0xde) return cp + 32;
  if (alternating_block(cp) || odd_alternating_block(cp)) return cp + 1;
  if (cp >= 0x391 && cp <= 0x3ab) return cp + 32;
  if (cp >= 0x410 && cp <= 0x42f) return cp + 32;
  if (cp >= 0x400 && cp <= 0x40f) return cp + 80;
  if (cp >= 0x531 && cp <= 0x556) return cp + 48;
  return cp;
}

bool is_alpha(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  if (is_upper(cp) || is_lower(cp)) return true;
  // Uncased letters of the big scripts (CJK, kana, Hangul, Arabic, Hebrew, Devanagari, Thai).
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3040 && cp <= 0x30ff) ||
         (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0x5d0 && cp <= 0x5ea) ||
         (cp >= 0x620 && cp <= 0x64a) || (cp >= 0x904 && cp <= 0x939) ||
         (cp >= 0xe01 && cp <= 0xe30);
}

bool is_digit(uint32_t cp) { return cp >= '0' && cp <= '9'; }

std::string upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = utf8::next(s, i);
    if (cp == 0xdf) {  // German sharp s upper-cases to two letters.
      out += "SS";
      continue;
    }
    utf8::append(out, to_upper(cp));
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) utf8::append(out, to_lower(utf8::next(s, i)));
  return out;
}

std::string title(std::string_view s) {
  std::string out;
  bool previous_cased = false;
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = utf8::next(s, i);
    bool cased = is_upper(cp) || is_lower(cp);
    if (cased) {
      utf8::append(out, previous_cased ? to_lower(cp) : to_upper(cp));
    } else {
      utf8::append(out, cp);
    }
    previous_cased = cased;
  }
  return out;
}

std::string capitalize(std::string_view s) {
  std::string out;
  size_t i = 0;
  bool first = true;
  while (i < s.size()) {
    uint32_t cp = utf8::next(s, i);
    utf8::append(out, first ? to_upper(cp) : to_lower(cp));
    first = false;
  }
  return out;
}

std::string strip(std::string_view s, const std::string* chars, bool left, bool right) {
  std::vector<uint32_t> cps = decode(s);
  std::vector<uint32_t> set;
  if (chars != nullptr) set = decode(*chars);
  auto strippable = [&](uint32_t cp) {
    if (chars == nullptr) return is_space(cp);
    return std::find(set.begin(), set.end(), cp) != set.end();
  };
  size_t begin = 0;
  size_t end = cps.size();
  if (left) {
    while (begin < end && strippable(cps[begin])) ++begin;
  }
  if (right) {
    while (end > begin && strippable(cps[end - 1])) --end;
  }
  return encode(cps, begin, end);
}

}  // namespace mlxlm::chat::jinja::uni
