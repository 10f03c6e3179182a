#pragma once
// Open-addressing hash tables for the vocabulary (string -> id) and the BPE merges
// ((left, right) -> (rank, merged id)): flat arrays load fast and probe cache-friendly, which
// std::unordered_map does not.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mlxlm::tok {

inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull ^ (s.size() * 0x9E3779B97F4A7C15ull);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001B3ull;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  for (size_t k = 0; i < s.size(); ++i, ++k)
    tail |= uint64_t(static_cast<unsigned char>(s[i])) << (8 * k);
  h = (h ^ tail) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 32);
}

// Maps strings to int32 values. Keys are copied into one arena.
class StringMap {
 public:
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    slots_.assign(cap, Slot{});
    arena_.reserve(n * 8);
  }
  // Inserts or overwrites; returns false when the key was already present.
  bool insert(std::string_view key, int32_t value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    uint64_t h = hash_bytes(key);
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.len == kEmpty) {
        s = Slot{static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(key.size()),
                 static_cast<uint32_t>(h), value};
        arena_.append(key);
        ++size_;
        return true;
      }
      if (s.hash == static_cast<uint32_t>(h) && key_of(s) == key) {
        s.value = value;
        return false;
      }
    }
  }
  std::optional<int32_t> find(std::string_view key) const {
    if (slots_.empty()) return std::nullopt;
    uint64_t h = hash_bytes(key);
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.len == kEmpty) return std::nullopt;
      if (s.hash == static_cast<uint32_t>(h) && key_of(s) == key) return s.value;
    }
  }
  size_t size() const { return size_; }
  template <typename Fn>
  void for_each(Fn fn) const {
    for (const auto& s : slots_) {
      if (s.len != kEmpty) fn(key_of(s), s.value);
    }
  }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    uint32_t offset = 0;
    uint32_t len = kEmpty;
    uint32_t hash = 0;
    int32_t value = 0;
  };
  std::string_view key_of(const Slot& s) const {
    return std::string_view(arena_).substr(s.offset, s.len);
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    size_t mask = slots_.size() - 1;
    for (const auto& s : old) {
      if (s.len == kEmpty) continue;
      size_t i = hash_bytes(key_of(s)) & mask;
      while (slots_[i].len != kEmpty) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  std::string arena_;
  size_t size_ = 0;
};

// Maps a pair of token ids to (rank, merged id).
class PairMap {
 public:
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    slots_.assign(cap, Slot{});
  }
  // Keeps the first insertion of a pair (the lowest rank), as HF does for duplicate merges.
  void insert(int32_t a, int32_t b, int32_t rank, int32_t merged) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    uint64_t key = pack(a, b);
    size_t mask = slots_.size() - 1;
    for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
      if (slots_[i].key == kEmpty) {
        slots_[i] = Slot{key, rank, merged};
        ++size_;
        return;
      }
      if (slots_[i].key == key) return;
    }
  }
  // Returns false when the pair has no merge.
  bool find(int32_t a, int32_t b, int32_t& rank, int32_t& merged) const {
    if (slots_.empty()) return false;
    uint64_t key = pack(a, b);
    size_t mask = slots_.size() - 1;
    for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.key == key) {
        rank = s.rank;
        merged = s.merged;
        return true;
      }
      if (s.key == kEmpty) return false;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  struct Slot {
    uint64_t key = kEmpty;
    int32_t rank = 0;
    int32_t merged = 0;
  };
  static uint64_t pack(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    size_t mask = slots_.size() - 1;
    for (const auto& s : old) {
      if (s.key == kEmpty) continue;
      size_t i = mix(s.key) & mask;
      while (slots_[i].key != kEmpty) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace mlxlm::tok
