#include "tokenizer/precompiled_charsmap.h"

#include <cstring>

#include "base/utf8.h"
#include "tokenizer/components.h"
#include "tokenizer/unicode.h"

namespace mlxlm::tok {
namespace {

std::string base64_decode(const std::string& in, const std::string& where) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    int v = value(c);
    if (v < 0) fail(where, "precompiled_charsmap is not valid base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

uint32_t unit_offset(uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }
bool unit_has_leaf(uint32_t unit) { return ((unit >> 8) & 1) == 1; }
uint32_t unit_value(uint32_t unit) { return unit & ((1u << 31) - 1); }
uint32_t unit_label(uint32_t unit) { return unit & ((1u << 31) | 0xFF); }

}  // namespace

PrecompiledCharsmap::PrecompiledCharsmap(const std::string& base64, const std::string& where) {
  std::string blob = base64_decode(base64, where);
  if (blob.empty()) return;
  if (blob.size() < 4) fail(where, "precompiled_charsmap is truncated");
  uint32_t trie_bytes;
  std::memcpy(&trie_bytes, blob.data(), 4);
  if (trie_bytes % 4 != 0 || trie_bytes > blob.size() - 4) {
    fail(where, "precompiled_charsmap has an invalid trie size");
  }
  trie_.resize(trie_bytes / 4);
  std::memcpy(trie_.data(), blob.data() + 4, trie_bytes);
  pool_ = blob.substr(4 + trie_bytes);
}

size_t PrecompiledCharsmap::longest_match(std::string_view s, std::string_view& replacement) const {
  if (trie_.empty()) return 0;
  size_t best = 0;
  uint32_t node = unit_offset(trie_[0]);
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) break;
    node ^= c;
    if (node >= trie_.size()) break;
    uint32_t unit = trie_[node];
    if (unit_label(unit) != c) break;
    node ^= unit_offset(unit);
    if (unit_has_leaf(unit)) {
      if (node >= trie_.size()) break;
      uint32_t value = unit_value(trie_[node]);
      if (value < pool_.size()) {
        size_t end = pool_.find('\0', value);
        replacement = std::string_view(pool_).substr(
            value, end == std::string::npos ? std::string::npos : end - value);
        best = i + 1;
      }
    }
  }
  return best;
}

std::string PrecompiledCharsmap::normalize(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    std::string_view repl;
    size_t n = longest_match(text.substr(i), repl);
    if (n > 0) {
      out.append(repl);
      i += n;
      continue;
    }
    size_t start = i;
    unicode::decode(text, i);
    out.append(text.substr(start, i - start));
  }
  return out;
}

}  // namespace mlxlm::tok
