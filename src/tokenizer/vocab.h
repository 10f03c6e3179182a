#pragma once
// A model vocabulary: token -> id through StringMap, id -> token through one arena.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/string_map.h"

namespace mlxlm::tok {

class Vocab {
 public:
  // Throws InvalidInput naming `where` for negative or huge ids.
  void build(const std::vector<std::pair<std::string_view, int64_t>>& entries,
             const std::string& where);
  std::optional<int32_t> find(std::string_view token) const { return map_.find(token); }
  std::optional<std::string_view> token(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= offsets_.size() || offsets_[id].second == kMissing) {
      return std::nullopt;
    }
    return std::string_view(arena_).substr(offsets_[id].first, offsets_[id].second);
  }
  int32_t size() const { return static_cast<int32_t>(offsets_.size()); }

 private:
  static constexpr uint32_t kMissing = 0xFFFFFFFFu;
  StringMap map_;
  std::string arena_;
  std::vector<std::pair<uint32_t, uint32_t>> offsets_;
};

}  // namespace mlxlm::tok
