#include "tokenizer/added_vocabulary.h"

#include <algorithm>

#include "tokenizer/unicode.h"

namespace mlxlm::tok {

void TokenTrie::add(std::string_view key, int32_t value) {
  if (key.empty()) return;
  first_[static_cast<unsigned char>(key[0])] = true;
  int32_t node = 0;
  for (char ch : key) {
    auto c = static_cast<unsigned char>(ch);
    auto& kids = nodes_[node].children;
    auto it = std::lower_bound(
        kids.begin(), kids.end(), c,
        [](const std::pair<unsigned char, int32_t>& p, unsigned char b) { return p.first < b; });
    if (it != kids.end() && it->first == c) {
      node = it->second;
      continue;
    }
    auto next = static_cast<int32_t>(nodes_.size());
    kids.insert(it, {c, next});
    nodes_.emplace_back();
    node = next;
  }
  if (nodes_[node].value < 0) nodes_[node].value = value;  // the first token with a content wins
}

size_t TokenTrie::longest(std::string_view s, int32_t& value) const {
  size_t best = 0;
  int32_t node = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    const auto& kids = nodes_[node].children;
    auto it = std::lower_bound(
        kids.begin(), kids.end(), c,
        [](const std::pair<unsigned char, int32_t>& p, unsigned char b) { return p.first < b; });
    if (it == kids.end() || it->first != c) break;
    node = it->second;
    if (nodes_[node].value >= 0) {
      best = i + 1;
      value = nodes_[node].value;
    }
  }
  return best;
}

namespace {

bool is_word_char(uint32_t cp) {
  auto c = unicode::category(cp);
  return cp == '_' || unicode::is_letter(c) || unicode::is_number(c);
}

uint32_t last_char(std::string_view s) {
  size_t start = s.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  return unicode::decode(s, start);
}

}  // namespace

void AddedVocabulary::split(std::string_view text, bool normalized,
                            std::vector<Section>& out) const {
  const TokenTrie& trie = normalized ? normalized_ : unnormalized_;
  if (trie.empty()) {
    if (!text.empty()) out.push_back({text, -1, 0});
    return;
  }
  size_t prev = 0;  // end of the previous match (after rstrip)
  size_t i = 0;
  while (i < text.size()) {
    if (!trie.may_start(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    int32_t k = -1;
    size_t len = trie.longest(text.substr(i), k);
    if (len == 0) {
      ++i;
      continue;
    }
    const AddedToken& t = tokens_[k];
    size_t start = i, stop = i + len;
    if (t.single_word) {
      bool left_ok = start == 0 || !is_word_char(last_char(text.substr(0, start)));
      size_t j = stop;
      bool right_ok = stop == text.size() || !is_word_char(unicode::decode(text, j));
      if (!left_ok || !right_ok) {
        i = stop;
        continue;
      }
    }
    if (t.lstrip) {
      while (start > prev) {
        size_t p = start - 1;
        while (p > prev && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
        size_t q = p;
        if (!unicode::is_white_space(unicode::decode(text, q))) break;
        start = p;
      }
    }
    if (t.rstrip) {
      while (stop < text.size()) {
        size_t q = stop;
        if (!unicode::is_white_space(unicode::decode(text, q))) break;
        stop = q;
      }
    }
    if (start > prev) out.push_back({text.substr(prev, start - prev), -1, prev});
    out.push_back({text.substr(i, len), t.id, i});
    prev = stop;
    i = stop;
  }
  if (prev < text.size()) out.push_back({text.substr(prev), -1, prev});
}

const AddedToken* AddedVocabulary::by_id(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::by_content(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

}  // namespace mlxlm::tok
