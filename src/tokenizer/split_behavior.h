#pragma once
// HF's SplitDelimiterBehavior: how the matches of a pattern cut a piece of text.
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/components.h"
#include "tokenizer/split_regex.h"

namespace mlxlm::tok {

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

SplitBehavior parse_split_behavior(const std::string& name, const std::string& where);

// Appends to `out` the non-empty pieces of `text` cut at `matches` (sorted, non-overlapping).
void split_by_matches(std::string_view text, const std::vector<Match>& matches,
                      SplitBehavior behavior, bool invert, Pieces& out);

// Every character satisfying `pred` as its own match (HF's char-predicate patterns).
template <typename Pred>
void char_matches(std::string_view text, Pred pred, std::vector<Match>& out);

}  // namespace mlxlm::tok

#include "tokenizer/unicode.h"

namespace mlxlm::tok {
template <typename Pred>
void char_matches(std::string_view text, Pred pred, std::vector<Match>& out) {
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    uint32_t cp = unicode::decode(text, i);
    if (pred(cp)) out.push_back({start, i});
  }
}
}  // namespace mlxlm::tok
