#include "tokenizer/split_behavior.h"

namespace mlxlm::tok {

SplitBehavior parse_split_behavior(const std::string& name, const std::string& where) {
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  fail(where, "unknown split behavior '" + name + "'");
}

void split_by_matches(std::string_view text, const std::vector<Match>& matches,
                      SplitBehavior behavior, bool invert, Pieces& out) {
  struct Span {
    size_t start, end;
    bool is_match;
  };
  // The alternating match / gap list of HF's Pattern::find_matches.
  std::vector<Span> spans;
  spans.reserve(matches.size() * 2 + 1);
  size_t prev = 0;
  for (const auto& m : matches) {
    if (prev != m.start) spans.push_back({prev, m.start, invert});
    spans.push_back({m.start, m.end, !invert});
    prev = m.end;
  }
  if (prev != text.size()) spans.push_back({prev, text.size(), invert});

  auto emit = [&](size_t s, size_t e) {
    if (e > s) out.emplace_back(text.substr(s, e - s));
  };
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const auto& s : spans) {
        if (!s.is_match) emit(s.start, s.end);
      }
      return;
    case SplitBehavior::kIsolated:
      for (const auto& s : spans) emit(s.start, s.end);
      return;
    case SplitBehavior::kContiguous:
    case SplitBehavior::kMergedWithPrevious: {
      std::vector<Span> merged;
      bool previous_match = false;
      for (const auto& s : spans) {
        bool join = behavior == SplitBehavior::kContiguous ? s.is_match == previous_match
                                                           : s.is_match && !previous_match;
        if (join && !merged.empty()) {
          merged.back().end = s.end;
        } else {
          merged.push_back(s);
        }
        previous_match = s.is_match;
      }
      for (const auto& s : merged) emit(s.start, s.end);
      return;
    }
    case SplitBehavior::kMergedWithNext: {
      std::vector<Span> merged;
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !merged.empty()) {
          merged.back().start = it->start;
        } else {
          merged.push_back(*it);
        }
        previous_match = it->is_match;
      }
      for (auto it = merged.rbegin(); it != merged.rend(); ++it) emit(it->start, it->end);
      return;
    }
  }
}

}  // namespace mlxlm::tok
