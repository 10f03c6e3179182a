#include "tokenizer/vocab.h"

#include <array>

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
  constexpr size_t kBatch = 64;  // prefetch a batch of slots before inserting (load time)
  std::array<uint64_t, kBatch> hashes{};
  for (size_t base = 0; base < entries.size(); base += kBatch) {
    size_t n = std::min(kBatch, entries.size() - base);
    for (size_t k = 0; k < n; ++k) {
      hashes[k] = hash_bytes(entries[base + k].first);
      map_.prefetch(hashes[k]);
    }
    for (size_t k = 0; k < n; ++k) {
      map_.insert(entries[base + k].first, static_cast<int32_t>(entries[base + k].second),
                  hashes[k]);
    }
  }
  for (const auto& [token, id] : entries) {
    offsets_[static_cast<size_t>(id)] = {static_cast<uint32_t>(arena_.size()),
                                         static_cast<uint32_t>(token.size())};
    arena_.append(token);
  }
}

}  // namespace mlxlm::tok
