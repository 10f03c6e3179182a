// Byte-pair encoding (HF tokenizers' models::bpe): byte-level or SentencePiece-style with
// byte_fallback, ignore_merges, continuing_subword_prefix / end_of_word_suffix and fuse_unk.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <unordered_map>

#include "tokenizer/byte_level.h"
#include "tokenizer/model_spec.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace mlxlm::tok {
namespace {

constexpr size_t kHeapThreshold = 24;  // below this a linear scan beats a heap
constexpr size_t kMaxCachedPiece = 48;
constexpr size_t kMaxCacheEntries = 1 << 16;

std::atomic<uint64_t> next_model_serial{1};

// Words repeat (Zipf), so each thread remembers the ids of the pieces it has encoded, per model
// instance and input form; thread-local storage keeps concurrent const use free of locks.
std::unordered_map<std::string, std::vector<int32_t>>& piece_cache(uint64_t key) {
  thread_local std::unordered_map<uint64_t, std::unordered_map<std::string, std::vector<int32_t>>>
      caches;
  if (caches.size() > 8 && !caches.count(key)) caches.clear();
  auto& c = caches[key];
  if (c.size() > kMaxCacheEntries) c.clear();
  return c;
}

class BpeModel : public Model {
 public:
  explicit BpeModel(const ModelSpec& spec);
  void tokenize(std::string_view piece, bool raw_bytes, std::vector<int32_t>& ids) const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override {
    return vocab_.find(token);
  }
  std::optional<std::string_view> id_to_token(int32_t id) const override {
    return vocab_.token(id);
  }
  int32_t vocab_size() const override { return vocab_.size(); }
  std::optional<int32_t> unk_id() const override { return unk_; }
  bool supports_raw_bytes() const override { return true; }

 private:
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
  };
  void initial_symbols(std::string_view piece, std::vector<Symbol>& syms) const;
  void merge(std::vector<Symbol>& syms) const;
  void merge_small(std::vector<Symbol>& syms) const;
  void merge_heap(std::vector<Symbol>& syms) const;
  void build_merges(const ModelSpec& spec, const std::string& where);
  void tokenize_uncached(std::string_view piece, bool raw_bytes, std::vector<int32_t>& ids) const;
  uint64_t serial_ = next_model_serial.fetch_add(1);

  Vocab vocab_;
  PairMap merges_;
  std::optional<int32_t> unk_;
  std::string prefix_, suffix_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  std::array<int32_t, 256> byte_char_ids_{};      // id of the byte-level character of each byte
  std::array<int32_t, 256> byte_fallback_ids_{};  // id of "<0xXX>"
};

BpeModel::BpeModel(const ModelSpec& spec) {
  const std::string where = "model (BPE)";
  const Json& o = spec.options;
  vocab_.build(spec.vocab, where + ".vocab");
  prefix_ = get<std::string>(o, "continuing_subword_prefix", "", where);
  suffix_ = get<std::string>(o, "end_of_word_suffix", "", where);
  fuse_unk_ = get<bool>(o, "fuse_unk", false, where);
  byte_fallback_ = get<bool>(o, "byte_fallback", false, where);
  ignore_merges_ = get<bool>(o, "ignore_merges", false, where);
  std::string unk = get<std::string>(o, "unk_token", "", where);
  if (!unk.empty()) {
    unk_ = vocab_.find(unk);
    if (!unk_) fail(where, "unk_token '" + unk + "' is not in the vocabulary");
  }
  for (int b = 0; b < 256; ++b) {
    byte_char_ids_[b] = vocab_.find(byte_level::char_of(static_cast<uint8_t>(b))).value_or(-1);
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    byte_fallback_ids_[b] = vocab_.find(name).value_or(-1);
  }
  build_merges(spec, where);
}

void BpeModel::build_merges(const ModelSpec& spec, const std::string& where) {
  // Three hash probes per merge over tables far larger than the caches: done in batches whose
  // slots are prefetched first, which is what keeps a 280k-merge load well under 150 ms.
  constexpr size_t kBatch = 64;
  const auto& merges = spec.merges;
  merges_.reserve(merges.size());
  std::array<std::string, kBatch> merged;
  std::array<uint64_t, kBatch> ha{}, hb{}, hm{};
  std::array<int32_t, kBatch> ia{}, ib{}, im{};
  // Vocabularies made by BPE training give merge r the id r + (number of base tokens): guessing
  // that id and checking the token string (sequential memory) saves the third probe.
  int64_t id_offset = 0;
  for (size_t base = 0; base < merges.size(); base += kBatch) {
    size_t n = std::min(kBatch, merges.size() - base);
    for (size_t k = 0; k < n; ++k) {
      const auto& [a, b] = merges[base + k];
      std::string_view rhs = b;
      if (!prefix_.empty() && rhs.substr(0, prefix_.size()) == prefix_)
        rhs.remove_prefix(prefix_.size());
      merged[k].assign(a);
      merged[k].append(rhs);
      ha[k] = hash_bytes(a);
      hb[k] = hash_bytes(b);
      vocab_.prefetch(ha[k]);
      vocab_.prefetch(hb[k]);
      auto guess = static_cast<int32_t>(static_cast<int64_t>(base + k) + id_offset);
      auto guessed = vocab_.token(guess);
      if (guessed && *guessed == merged[k]) {
        im[k] = guess;
      } else {
        im[k] = -1;
        hm[k] = hash_bytes(merged[k]);
        vocab_.prefetch(hm[k]);
      }
    }
    for (size_t k = 0; k < n; ++k) {
      const auto& [a, b] = merges[base + k];
      auto fa = vocab_.find(a, ha[k]);
      auto fb = vocab_.find(b, hb[k]);
      if (!fa || !fb) {
        fail(where + ".merges[" + std::to_string(base + k) + "]",
             "merge '" + std::string(a) + " " + std::string(b) + "' names token '" +
                 std::string(!fa ? a : b) + "' that is not in the vocabulary");
      }
      std::optional<int32_t> fm = im[k];
      if (im[k] < 0) fm = vocab_.find(merged[k], hm[k]);
      if (!fm) {
        fail(where + ".merges[" + std::to_string(base + k) + "]",
             "merge '" + std::string(a) + " " + std::string(b) + "' makes token '" + merged[k] +
                 "' that is not in the vocabulary");
      }
      ia[k] = *fa;
      ib[k] = *fb;
      im[k] = *fm;
      id_offset = static_cast<int64_t>(*fm) - static_cast<int64_t>(base + k);
      merges_.prefetch(ia[k], ib[k]);
    }
    for (size_t k = 0; k < n; ++k)
      merges_.insert(ia[k], ib[k], static_cast<int32_t>(base + k), im[k]);
  }
}

void BpeModel::initial_symbols(std::string_view piece, std::vector<Symbol>& syms) const {
  // As HF's merge_word: characters (with prefix / suffix) found in the vocabulary, else their
  // byte tokens when byte_fallback has them all, else unk (fused when fuse_unk).
  std::string key;
  int32_t pending_unk = -1;
  auto push = [&](int32_t id) { syms.push_back({id, 0, 0}); };
  size_t i = 0;
  while (i < piece.size()) {
    size_t start = i;
    unicode::decode(piece, i);
    std::string_view ch = piece.substr(start, i - start);
    std::optional<int32_t> id;
    if ((start != 0 && !prefix_.empty()) || (i == piece.size() && !suffix_.empty())) {
      key.clear();
      if (start != 0) key += prefix_;
      key.append(ch);
      if (i == piece.size()) key += suffix_;
      id = vocab_.find(key);
    } else {
      id = vocab_.find(ch);
    }
    if (id) {
      if (pending_unk >= 0) push(pending_unk), pending_unk = -1;
      push(*id);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char c : ch) all = all && byte_fallback_ids_[static_cast<uint8_t>(c)] >= 0;
      if (all) {
        if (pending_unk >= 0) push(pending_unk), pending_unk = -1;
        for (char c : ch) push(byte_fallback_ids_[static_cast<uint8_t>(c)]);
        continue;
      }
    }
    if (!unk_) continue;  // HF errors here; dropping the character is the safe choice
    if (pending_unk >= 0 && !fuse_unk_) push(pending_unk);
    pending_unk = *unk_;
  }
  if (pending_unk >= 0) push(pending_unk);
}

void BpeModel::merge(std::vector<Symbol>& syms) const {
  for (size_t k = 0; k < syms.size(); ++k) {
    syms[k].prev = static_cast<int32_t>(k) - 1;
    syms[k].next = k + 1 < syms.size() ? static_cast<int32_t>(k + 1) : -1;
  }
  if (syms.size() < 2) return;
  if (syms.size() < kHeapThreshold) {
    merge_small(syms);
  } else {
    merge_heap(syms);
  }
}

void BpeModel::merge_small(std::vector<Symbol>& syms) const {
  // Symbols stay contiguous here: merging erases the right one.
  std::vector<Symbol>& s = syms;
  size_t n = s.size();
  while (n > 1) {
    int32_t best_rank = INT32_MAX, best_id = 0;
    size_t best = 0;
    for (size_t k = 0; k + 1 < n; ++k) {
      int32_t rank, id;
      if (merges_.find(s[k].id, s[k + 1].id, rank, id) && rank < best_rank) {
        best_rank = rank;
        best_id = id;
        best = k;
      }
    }
    if (best_rank == INT32_MAX) break;
    s[best].id = best_id;
    for (size_t k = best + 1; k + 1 < n; ++k) s[k] = s[k + 1];
    --n;
  }
  s.resize(n);
}

void BpeModel::merge_heap(std::vector<Symbol>& syms) const {
  struct Cand {
    int32_t rank;
    int32_t pos;
    int32_t left;
    int32_t right;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::vector<Cand> heap;
  heap.reserve(syms.size());
  auto consider = [&](int32_t pos) {
    int32_t next = syms[pos].next;
    if (next < 0) return;
    int32_t rank, id;
    if (merges_.find(syms[pos].id, syms[next].id, rank, id)) {
      heap.push_back({rank, pos, syms[pos].id, syms[next].id});
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    }
  };
  for (int32_t k = 0; k + 1 < static_cast<int32_t>(syms.size()); ++k) consider(k);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    Cand c = heap.back();
    heap.pop_back();
    Symbol& left = syms[c.pos];
    if (left.id != c.left || left.next < 0 || syms[left.next].id != c.right) continue;
    int32_t rank = 0, id = 0;
    merges_.find(c.left, c.right, rank, id);
    int32_t right = left.next;
    left.id = id;
    left.next = syms[right].next;
    if (left.next >= 0) syms[left.next].prev = c.pos;
    syms[right].id = -1;
    if (left.prev >= 0) consider(left.prev);
    consider(c.pos);
  }
  size_t out = 0;
  for (int32_t k = 0; k >= 0; k = syms[k].next) syms[out++].id = syms[k].id;
  syms.resize(out);
}

void BpeModel::tokenize(std::string_view piece, bool raw_bytes, std::vector<int32_t>& ids) const {
  if (piece.empty()) return;
  if (piece.size() > kMaxCachedPiece) {
    tokenize_uncached(piece, raw_bytes, ids);
    return;
  }
  auto& cache = piece_cache(serial_ * 2 + (raw_bytes ? 1 : 0));
  auto it = cache.find(std::string(piece));
  if (it != cache.end()) {
    ids.insert(ids.end(), it->second.begin(), it->second.end());
    return;
  }
  size_t start = ids.size();
  tokenize_uncached(piece, raw_bytes, ids);
  cache.emplace(std::string(piece),
                std::vector<int32_t>(ids.begin() + static_cast<long>(start), ids.end()));
}

void BpeModel::tokenize_uncached(std::string_view piece, bool raw_bytes,
                                 std::vector<int32_t>& ids) const {
  std::string converted;
  if (raw_bytes && (!prefix_.empty() || !suffix_.empty() || ignore_merges_)) {
    converted = byte_level::encode(piece);
  }
  if (ignore_merges_) {
    auto id = vocab_.find(raw_bytes ? std::string_view(converted) : piece);
    if (id) {
      ids.push_back(*id);
      return;
    }
  }
  std::vector<Symbol> syms;
  syms.reserve(piece.size());
  bool fast = raw_bytes && prefix_.empty() && suffix_.empty();
  if (fast) {
    for (char c : piece) {
      int32_t id = byte_char_ids_[static_cast<uint8_t>(c)];
      if (id < 0) {
        fast = false;
        syms.clear();
        break;
      }
      syms.push_back({id, 0, 0});
    }
  }
  if (!fast) {
    if (raw_bytes && converted.empty()) converted = byte_level::encode(piece);
    initial_symbols(raw_bytes ? std::string_view(converted) : piece, syms);
  }
  merge(syms);
  for (const auto& s : syms) ids.push_back(s.id);
}

}  // namespace

std::unique_ptr<Model> make_bpe_model(const ModelSpec& spec) {
  return std::make_unique<BpeModel>(spec);
}

}  // namespace mlxlm::tok
