#include "tokenizer/byte_level.h"

#include "base/utf8.h"
#include "tokenizer/unicode.h"

namespace mlxlm::tok::byte_level {
namespace {

struct Tables {
  std::array<std::string, 256> chars;
  std::array<uint32_t, 256> cps{};
  std::array<int16_t, 324> bytes{};  // code point -> byte, -1 when unmapped
  Tables() {
    bytes.fill(-1);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      cps[b] = printable ? b : next++;
      utf8::append(chars[b], cps[b]);
      bytes[cps[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::string& char_of(uint8_t b) { return tables().chars[b]; }

int byte_of(uint32_t cp) { return cp < 324 ? tables().bytes[cp] : -1; }

std::string encode(std::string_view bytes) {
  const auto& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += t.chars[static_cast<uint8_t>(c)];
  return out;
}

bool decode(std::string_view text, std::string& out) {
  size_t i = 0;
  while (i < text.size()) {
    int b = byte_of(unicode::decode(text, i));
    if (b < 0) return false;
    out.push_back(static_cast<char>(b));
  }
  return true;
}

}  // namespace mlxlm::tok::byte_level
