#pragma once
// SentencePiece's precompiled normalization map (the "Precompiled" normalizer): a Darts
// double-array trie over UTF-8 input whose values index a pool of replacement strings.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mlxlm::tok {

class PrecompiledCharsmap {
 public:
  // `base64` is tokenizer.json's precompiled_charsmap; throws InvalidInput naming `where`.
  PrecompiledCharsmap(const std::string& base64, const std::string& where);
  std::string normalize(std::string_view text) const;

 private:
  // Length of the longest key that prefixes `s` (0 if none) and its replacement.
  size_t longest_match(std::string_view s, std::string_view& replacement) const;
  std::vector<uint32_t> trie_;
  std::string pool_;
};

}  // namespace mlxlm::tok
