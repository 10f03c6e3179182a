#include "tokenizer/unicode.h"

#include <algorithm>

#include "base/utf8.h"
#include "tokenizer/unicode_tables.h"

namespace mlxlm::unicode {

Category category(uint32_t cp) {
  if (cp >= 0x110000) return Cn;
  return static_cast<Category>(
      tables::category_stage2[tables::category_stage1[cp >> 8] * 256 + (cp & 0xFF)]);
}

uint8_t combining_class(uint32_t cp) {
  if (cp >= 0x110000) return 0;
  return tables::ccc_stage2[tables::ccc_stage1[cp >> 8] * 256 + (cp & 0xFF)];
}

bool is_white_space(uint32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  switch (cp) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

uint32_t decode(std::string_view s, size_t& i, bool* truncated) {
  auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int need;
  uint32_t cp;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    ++i;
    return 0xFFFD;
  }
  size_t j = i + 1;
  for (int k = 0; k < need; ++k, ++j) {
    if (j >= s.size()) {
      i = j;
      if (truncated != nullptr) *truncated = true;
      return 0xFFFD;
    }
    auto b = static_cast<unsigned char>(s[j]);
    if (b < lo || b > hi) {
      i = j;  // the maximal subpart ends before the offending byte
      return 0xFFFD;
    }
    lo = 0x80;
    hi = 0xBF;
    cp = (cp << 6) | (b & 0x3F);
  }
  i = j;
  return cp;
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t start = i;
    uint32_t cp = decode(s, i);
    if (cp == 0xFFFD && !(i - start == 3 && s.substr(start, 3) == "\xEF\xBF\xBD")) return false;
  }
  return true;
}

std::string to_valid_utf8(std::string_view s) {
  if (is_valid_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  size_t i = 0;
  while (i < s.size()) utf8::append(out, decode(s, i));
  return out;
}

size_t stable_prefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t start = i;
    bool truncated = false;
    decode(s, i, &truncated);
    if (truncated) return start;
  }
  return s.size();
}

std::string lowercase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = decode(s, i);
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
      continue;
    }
    auto* end = tables::lowercase + tables::lowercase_count;
    auto* it = std::lower_bound(tables::lowercase, end, cp,
                                [](const tables::CaseMapping& m, uint32_t c) { return m.cp < c; });
    if (it != end && it->cp == cp) {
      for (uint32_t k = 0; k < it->length; ++k)
        utf8::append(out, tables::lowercase_data[it->offset + k]);
    } else {
      utf8::append(out, cp);
    }
  }
  return out;
}

std::string strip_marks(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = decode(s, i);
    if (!is_mark(category(cp))) utf8::append(out, cp);
  }
  return out;
}

}  // namespace mlxlm::unicode
