#include "tokenizer/vocab.h"

#include "tokenizer/components.h"

namespace mlxlm::tok {

void Vocab::build(const std::vector<std::pair<std::string_view, int64_t>>& entries,
                  const std::string& where) {
  map_.reserve(entries.size());
  int64_t max_id = -1;
  size_t bytes = 0;
  for (const auto& [token, id] : entries) {
    if (id < 0 || id >= (int64_t{1} << 30)) {
      fail(where, "token '" + std::string(token) + "' has invalid id " + std::to_string(id));
    }
    max_id = std::max(max_id, id);
    bytes += token.size();
  }
  offsets_.assign(static_cast<size_t>(max_id + 1), {0, kMissing});
  arena_.reserve(bytes);
  for (const auto& [token, id] : entries) {
    map_.insert(token, static_cast<int32_t>(id));
    offsets_[static_cast<size_t>(id)] = {static_cast<uint32_t>(arena_.size()),
                                         static_cast<uint32_t>(token.size())};
    arena_.append(token);
  }
}

}  // namespace mlxlm::tok
