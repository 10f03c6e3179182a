// NFD / NFKD / NFC / NFKC (UAX #15) over the generated decomposition and composition tables.
#include <algorithm>
#include <vector>

#include "base/utf8.h"
#include "tokenizer/unicode.h"
#include "tokenizer/unicode_tables.h"

namespace mlxlm::unicode {
namespace {

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

const tables::Decomposition* find_decomposition(uint32_t cp) {
  auto* end = tables::decompositions + tables::decomposition_count;
  auto* it = std::lower_bound(tables::decompositions, end, cp,
                              [](const tables::Decomposition& d, uint32_t c) { return d.cp < c; });
  return it != end && it->cp == cp ? it : nullptr;
}

void decompose(uint32_t cp, bool compat, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const auto* d = find_decomposition(cp);
  if (d == nullptr || (d->compat && !compat)) {
    out.push_back(cp);
    return;
  }
  for (uint32_t k = 0; k < d->length; ++k)
    decompose(tables::decomposition_data[d->offset + k], compat, out);
}

std::vector<uint32_t> decomposed(std::string_view s, bool compat) {
  std::vector<uint32_t> cps;
  cps.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = decode(s, i);
    if (cp < 0xA0) {
      cps.push_back(cp);
    } else {
      decompose(cp, compat, cps);
    }
  }
  // Canonical ordering: stable sort each run of non-starters by combining class.
  size_t n = cps.size();
  for (size_t a = 0; a < n;) {
    if (combining_class(cps[a]) == 0) {
      ++a;
      continue;
    }
    size_t b = a;
    while (b < n && combining_class(cps[b]) != 0) ++b;
    std::stable_sort(
        cps.begin() + static_cast<long>(a), cps.begin() + static_cast<long>(b),
        [](uint32_t x, uint32_t y) { return combining_class(x) < combining_class(y); });
    a = b;
  }
  return cps;
}

uint32_t compose_pair(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  auto* end = tables::compositions + tables::composition_count;
  auto* it =
      std::lower_bound(tables::compositions, end, std::pair{a, b},
                       [](const tables::Composition& c, std::pair<uint32_t, uint32_t> k) {
                         return c.first < k.first || (c.first == k.first && c.second < k.second);
                       });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

void compose(std::vector<uint32_t>& cps) {
  if (cps.empty()) return;
  size_t starter = 0;
  bool have_starter = combining_class(cps[0]) == 0;
  int last_cc = have_starter ? 0 : 256;
  size_t out = 1;
  for (size_t i = 1; i < cps.size(); ++i) {
    uint32_t cp = cps[i];
    int cc = combining_class(cp);
    if (have_starter && (last_cc < cc || (last_cc == 0 && out == starter + 1))) {
      uint32_t c = compose_pair(cps[starter], cp);
      if (c != 0) {
        cps[starter] = c;
        continue;
      }
    }
    if (cc == 0) {
      starter = out;
      have_starter = true;
    }
    last_cc = cc;
    cps[out++] = cp;
  }
  cps.resize(out);
}

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string encode(const std::vector<uint32_t>& cps) {
  std::string out;
  out.reserve(cps.size() * 2);
  for (uint32_t cp : cps) utf8::append(out, cp);
  return out;
}

}  // namespace

std::string nfd(std::string_view s) {
  return is_ascii(s) ? std::string(s) : encode(decomposed(s, false));
}
std::string nfkd(std::string_view s) {
  return is_ascii(s) ? std::string(s) : encode(decomposed(s, true));
}
std::string nfc(std::string_view s) {
  if (is_ascii(s)) return std::string(s);
  auto cps = decomposed(s, false);
  compose(cps);
  return encode(cps);
}
std::string nfkc(std::string_view s) {
  if (is_ascii(s)) return std::string(s);
  auto cps = decomposed(s, true);
  compose(cps);
  return encode(cps);
}

}  // namespace mlxlm::unicode
