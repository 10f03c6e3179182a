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

// The first 8 bytes of a key, zero-padded: compared inline so that most probes of short tokens
// never touch the key arena.
inline uint64_t key_prefix(std::string_view s) {
  uint64_t p = 0;
  __builtin_memcpy(&p, s.data(), s.size() < 8 ? s.size() : 8);
  return p;
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
  bool insert(std::string_view key, int32_t value) { return insert(key, value, hash_bytes(key)); }
  bool insert(std::string_view key, int32_t value, uint64_t h) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    size_t mask = slots_.size() - 1;
    uint64_t prefix = key_prefix(key);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.len == kEmpty) {
        s = Slot{prefix, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(key.size()),
                 static_cast<uint32_t>(h), value};
        if (key.size() > 8) arena_.append(key.substr(8));
        ++size_;
        return true;
      }
      if (matches(s, key, prefix, h)) {
        s.value = value;
        return false;
      }
    }
  }
  std::optional<int32_t> find(std::string_view key) const { return find(key, hash_bytes(key)); }
  std::optional<int32_t> find(std::string_view key, uint64_t h) const {
    if (slots_.empty()) return std::nullopt;
    size_t mask = slots_.size() - 1;
    uint64_t prefix = key_prefix(key);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.len == kEmpty) return std::nullopt;
      if (matches(s, key, prefix, h)) return s.value;
    }
  }
  // Hints the slot of hash `h` into cache ahead of a find (load-time batches).
  void prefetch(uint64_t h) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[h & (slots_.size() - 1)]);
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    uint64_t prefix = 0;
    uint32_t offset = 0;  // of the key's bytes after the first 8
    uint32_t len = kEmpty;
    uint32_t hash = 0;
    int32_t value = 0;
  };
  bool matches(const Slot& s, std::string_view key, uint64_t prefix, uint64_t h) const {
    if (s.hash != static_cast<uint32_t>(h) || s.len != key.size() || s.prefix != prefix)
      return false;
    return key.size() <= 8 || std::string_view(arena_).substr(s.offset, s.len - 8) == key.substr(8);
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    size_t mask = slots_.size() - 1;
    for (const auto& s : old) {
      if (s.len == kEmpty) continue;
      size_t i = s.hash & mask;  // the low 32 bits of the hash pick the slot while capacity < 2^32
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
    while (cap * 3 < n * 4) cap <<= 1;  // load factor at most 3/4
    slots_.assign(cap, Slot{});
  }
  // Keeps the first insertion of a pair (the lowest rank), as HF does for duplicate merges.
  void prefetch(int32_t a, int32_t b) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[mix(pack(a, b)) & (slots_.size() - 1)]);
  }
  void insert(int32_t a, int32_t b, int32_t rank, int32_t merged) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
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
