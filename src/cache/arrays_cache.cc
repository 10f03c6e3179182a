#include "cache/arrays_cache.h"

#include <cstring>

#include "base/error.h"
#include "cache/token_ops.h"

namespace mlxlm {
namespace {

std::vector<int64_t> select(const std::vector<int64_t>& v, const std::vector<int64_t>& idx) {
  std::vector<int64_t> out;
  for (int64_t i : idx) out.push_back(v.at(static_cast<size_t>(i)));
  return out;
}

// mlx-lm stores an absent padding or lengths as an empty float32 array.
StateTree optional_ints(const std::optional<std::vector<int64_t>>& v) {
  if (!v) return StateTree::of(Tensor(DType::F32, {0}));
  return StateTree::of(int_tensor(*v));
}

std::optional<std::vector<int64_t>> read_optional_ints(const StateTree& node,
                                                       const std::string& what) {
  if (node.is_leaf && node.leaf.numel() == 0 && node.leaf.ndim() == 1) return std::nullopt;
  return take_ints(node, what);
}

Tensor zeros_rows(const Tensor& like, int64_t rows) {
  Shape s = like.shape();
  s[0] = rows;
  return Tensor(like.dtype(), s);
}

}  // namespace

ArraysCache::ArraysCache(int64_t size, std::vector<int64_t> left_padding)
    : slots_(static_cast<size_t>(size)) {
  if (!left_padding.empty()) left_padding_ = std::move(left_padding);
}

int64_t ArraysCache::batch_size() const {
  for (const Tensor& s : slots_) {
    if (s.ndim() > 0) return s.dim(0);
  }
  if (left_padding_) return static_cast<int64_t>(left_padding_->size());
  if (lengths_) return static_cast<int64_t>(lengths_->size());
  return 1;
}

size_t ArraysCache::nbytes() const {
  size_t n = 0;
  for (const Tensor& s : slots_) n += s.nbytes();
  return n;
}

StateTree ArraysCache::state() const {
  StateTree slots;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].ndim() == 0) {
      throw InvalidInput("cache", "ArraysCache slot " + std::to_string(i) +
                                      " is unset; mlx-lm cannot store an unset slot");
    }
    slots.add(slots_[i].clone());
  }
  StateTree s;
  s.add(std::move(slots)).add(optional_ints(left_padding_)).add(optional_ints(lengths_));
  return s;
}

void ArraysCache::set_state(StateTree state) {
  if (state.is_leaf) throw InvalidInput("cache", "ArraysCache state must be a list, got an array");
  const bool current = state.items.size() == 3 && !state.items[0].is_leaf;
  std::vector<StateTree>& slot_nodes = current ? state.items[0].items : state.items;
  std::vector<Tensor> slots;
  for (size_t i = 0; i < slot_nodes.size(); ++i) {
    if (!slot_nodes[i].is_leaf || slot_nodes[i].leaf.ndim() == 0) {
      throw InvalidInput("cache", "ArraysCache slot " + std::to_string(i) + " is not an array");
    }
    slots.push_back(std::move(slot_nodes[i].leaf));
  }
  if (current) {
    left_padding_ = read_optional_ints(state.items[1], "ArraysCache left_padding");
    lengths_ = read_optional_ints(state.items[2], "ArraysCache lengths");
  } else {
    left_padding_.reset();
    lengths_.reset();
  }
  slots_ = std::move(slots);
  const int64_t b = batch_size();
  for (const auto* v : {&left_padding_, &lengths_}) {
    if (*v && static_cast<int64_t>((*v)->size()) != b) {
      throw InvalidInput("cache", "ArraysCache padding has " + std::to_string((*v)->size()) +
                                      " rows but the state has batch size " + std::to_string(b));
    }
  }
}

std::unique_ptr<Cache> ArraysCache::copy() const {
  auto c = std::make_unique<ArraysCache>(0);
  for (const Tensor& s : slots_) c->slots_.push_back(s.ndim() == 0 ? Tensor() : s.clone());
  c->left_padding_ = left_padding_;
  c->lengths_ = lengths_;
  return c;
}

std::vector<uint8_t> ArraysCache::make_mask(int64_t n) const {
  std::vector<uint8_t> m;
  if (!left_padding_ && !lengths_) return m;
  const auto& v = left_padding_ ? *left_padding_ : *lengths_;
  for (int64_t lim : v) {
    for (int64_t j = 0; j < n; ++j) m.push_back(left_padding_ ? j >= lim : j < lim);
  }
  return m;
}

void ArraysCache::advance(int64_t n) {
  if (lengths_) {
    for (auto& l : *lengths_) l -= n;
  }
  if (left_padding_) {
    for (auto& l : *left_padding_) l -= n;
  }
}

void ArraysCache::filter(const std::vector<int64_t>& indices) {
  for (Tensor& s : slots_) {
    if (s.ndim() > 0) s = take_rows(s, indices);
  }
  if (left_padding_) left_padding_ = select(*left_padding_, indices);
  if (lengths_) lengths_ = select(*lengths_, indices);
}

void ArraysCache::extend(Cache& other_cache) {
  auto* other = dynamic_cast<ArraysCache*>(&other_cache);
  if (other == nullptr || other->slots_.size() != slots_.size()) {
    throw InvalidInput("cache",
                       "ArraysCache can only be extended by an ArraysCache of the same size");
  }
  const int64_t a_batch = batch_size(), b_batch = other->batch_size();
  for (size_t i = 0; i < slots_.size(); ++i) {
    Tensor& a = slots_[i];
    const Tensor& b = other->slots_[i];
    if (a.ndim() == 0 && b.ndim() == 0) continue;
    Tensor za, zb;
    const Tensor& aa = a.ndim() > 0 ? a : (za = zeros_rows(b, a_batch));
    const Tensor& bb = b.ndim() > 0 ? b : (zb = zeros_rows(a, b_batch));
    a = concat_rows(aa, bb);
  }
  auto cat = [&](std::optional<std::vector<int64_t>>& a,
                 const std::optional<std::vector<int64_t>>& b) {
    if (!a && !b) return;
    std::vector<int64_t> out = a ? *a : std::vector<int64_t>(static_cast<size_t>(a_batch), 0);
    std::vector<int64_t> tail = b ? *b : std::vector<int64_t>(static_cast<size_t>(b_batch), 0);
    out.insert(out.end(), tail.begin(), tail.end());
    a = std::move(out);
  };
  cat(left_padding_, other->left_padding_);
  cat(lengths_, other->lengths_);
}

std::unique_ptr<Cache> ArraysCache::extract(int64_t idx) const {
  auto c = std::make_unique<ArraysCache>(0);
  for (const Tensor& s : slots_) {
    c->slots_.push_back(s.ndim() == 0 ? Tensor() : take_rows(s, {idx}));
  }
  return c;
}

void ArraysCache::prepare(const BatchPrepare& args) {
  if (args.lengths) lengths_ = *args.lengths;
}

void ArraysCache::finalize() {
  lengths_.reset();
  left_padding_.reset();
}

std::unique_ptr<ArraysCache> ArraysCache::merge(const std::vector<const ArraysCache*>& caches) {
  MLXLM_CHECK(!caches.empty(), "cache", "merge of no caches");
  const size_t n_state = caches[0]->slots_.size();
  const auto b = static_cast<int64_t>(caches.size());
  auto out = std::make_unique<ArraysCache>(static_cast<int64_t>(n_state));
  bool all_empty = true;
  for (const auto* c : caches) all_empty = all_empty && c->empty();
  if (all_empty) {
    out->left_padding_ = std::vector<int64_t>(caches.size(), 0);
    return out;
  }
  for (size_t e = 0; e < n_state; ++e) {
    const Tensor* init = nullptr;
    for (const auto* c : caches) {
      if (c->slots_.at(e).ndim() > 0) {
        init = &c->slots_[e];
        break;
      }
    }
    if (init == nullptr) continue;
    Tensor merged = zeros_rows(*init, b);
    const size_t row = init->nbytes() / static_cast<size_t>(init->dim(0));
    for (int64_t i = 0; i < b; ++i) {
      const Tensor& s = caches[i]->slots_[e];
      if (s.ndim() == 0) continue;
      if (s.nbytes() != row) throw InvalidInput("cache", "ArraysCache merge: slot shapes differ");
      if (row > 0) {
        std::memcpy(static_cast<uint8_t*>(merged.data()) + i * row, s.data(), row);
      }
    }
    out->slots_[e] = std::move(merged);
  }
  return out;
}

}  // namespace mlxlm
