#pragma once
// Added tokens (tokenizer.json "added_tokens"): found in the text before normalization
// (normalized=false) or after it (normalized=true), leftmost-longest, honouring single_word,
// lstrip and rstrip, as HF's AddedVocabulary does.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mlxlm::tok {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

// A part of the input: either text to tokenize or one added token.
struct Section {
  std::string_view text;
  int32_t added_id = -1;  // >= 0 for an added token
  size_t offset = 0;      // byte offset of `text` in the string that was split
};

// Leftmost-longest multi-pattern matcher over bytes.
class TokenTrie {
 public:
  void add(std::string_view key, int32_t value);
  // Length of the longest key starting at s[0] (0 if none) and its value.
  size_t longest(std::string_view s, int32_t& value) const;
  bool may_start(unsigned char c) const { return first_[c]; }
  bool empty() const { return nodes_.size() <= 1; }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
    int32_t value = -1;
  };
  std::vector<Node> nodes_{Node{}};
  std::array<bool, 256> first_{};
};

class AddedVocabulary {
 public:
  // `normalize` maps a normalized=true token's content to its form in normalized text.
  template <typename NormalizeFn>
  void build(std::vector<AddedToken> tokens, NormalizeFn normalize) {
    tokens_ = std::move(tokens);
    for (size_t k = 0; k < tokens_.size(); ++k) {
      const auto& t = tokens_[k];
      if (t.content.empty()) continue;
      by_content_[t.content] = static_cast<int32_t>(k);
      by_id_[t.id] = static_cast<int32_t>(k);
      if (t.normalized) {
        normalized_.add(normalize(t.content), static_cast<int32_t>(k));
      } else {
        unnormalized_.add(t.content, static_cast<int32_t>(k));
      }
    }
  }
  // Splits raw text on normalized=false tokens (`normalized` false) or normalized text on
  // normalized=true tokens (`normalized` true).
  void split(std::string_view text, bool normalized, std::vector<Section>& out) const;

  const AddedToken* by_id(int32_t id) const;
  const AddedToken* by_content(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  std::vector<AddedToken> tokens_;
  std::unordered_map<std::string, int32_t> by_content_;
  std::unordered_map<int32_t, int32_t> by_id_;
  TokenTrie unnormalized_, normalized_;
};

}  // namespace mlxlm::tok
