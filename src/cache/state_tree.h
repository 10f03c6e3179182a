#pragma once
// mlx-lm caches expose `state` as nested tuples/lists of arrays and `meta_state` as nested
// tuples/lists of strings; prompt-cache files store them flattened with mlx's tree_flatten
// ("0.1.2" paths). These two small trees carry them between the caches and the file code.
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace mlxlm {

struct StateTree {
  bool is_leaf = false;
  Tensor leaf;
  std::vector<StateTree> items;

  static StateTree of(Tensor t) {
    StateTree s;
    s.is_leaf = true;
    s.leaf = std::move(t);
    return s;
  }
  static StateTree list() { return {}; }
  StateTree& add(StateTree child) {
    items.push_back(std::move(child));
    return *this;
  }
  StateTree& add(Tensor t) { return add(of(std::move(t))); }
  size_t size() const { return items.size(); }
};

struct MetaTree {
  bool is_leaf = true;
  std::string value;
  std::vector<MetaTree> items;

  static MetaTree str(std::string v) {
    MetaTree m;
    m.value = std::move(v);
    return m;
  }
  static MetaTree list(std::vector<MetaTree> items = {}) {
    MetaTree m;
    m.is_leaf = false;
    m.items = std::move(items);
    return m;
  }
  // A tuple of decimal strings, as mlx-lm's `tuple(map(str, ...))`.
  static MetaTree ints(const std::vector<int64_t>& values);
  bool operator==(const MetaTree& o) const {
    return is_leaf == o.is_leaf && value == o.value && items == o.items;
  }
};

// Parses a meta_state tuple of decimal integers; `what` names the cache in errors.
std::vector<int64_t> parse_meta_ints(const MetaTree& meta, size_t count, const std::string& what);

}  // namespace mlxlm

namespace mlxlm {

// Checks that `node` is an array of rank `ndim` (any rank when -1) holding floats (F32, F16 or
// BF16) and returns it as f32, or as stored with `keep_half`; `what` names it in errors
// ("RotatingKVCache keys").
Tensor take_float(StateTree& node, int ndim, const std::string& what, bool keep_half = false);
// Checks that `node` is an array of integers (any width) and returns its values.
std::vector<int64_t> take_ints(const StateTree& node, const std::string& what);
// Checks that `node` is a list of exactly `count` items.
void expect_list(const StateTree& node, size_t count, const std::string& what);
// An I32 vector tensor (how mlx stores batch offsets and paddings).
Tensor int_tensor(const std::vector<int64_t>& values);

}  // namespace mlxlm
