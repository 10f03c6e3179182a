// Byte-pair encoding (HF tokenizers' models::bpe): byte-level or SentencePiece-style with
// byte_fallback, ignore_merges, continuing_subword_prefix / end_of_word_suffix and fuse_unk.
#include <algorithm>
#include <array>
#include <cstdio>

#include "tokenizer/byte_level.h"
#include "tokenizer/model_spec.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace mlxlm::tok {
namespace {

constexpr size_t kHeapThreshold = 24;  // below this a linear scan beats a heap

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
  merges_.reserve(spec.merges.size());
  std::string merged;
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [a, b] = spec.merges[rank];
    auto ia = vocab_.find(a);
    auto ib = vocab_.find(b);
    if (!ia || !ib) {
      fail(where + ".merges[" + std::to_string(rank) + "]",
           "merge '" + std::string(a) + " " + std::string(b) + "' names token '" +
               std::string(!ia ? a : b) + "' that is not in the vocabulary");
    }
    merged.assign(a);
    std::string_view rhs = b;
    if (!prefix_.empty() && rhs.substr(0, prefix_.size()) == prefix_)
      rhs.remove_prefix(prefix_.size());
    merged.append(rhs);
    auto im = vocab_.find(merged);
    if (!im) {
      fail(where + ".merges[" + std::to_string(rank) + "]",
           "merge '" + std::string(a) + " " + std::string(b) + "' makes token '" + merged +
               "' that is not in the vocabulary");
    }
    merges_.insert(*ia, *ib, static_cast<int32_t>(rank), *im);
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
