#include "cache/prompt_cache_file.h"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/error.h"
#include "cache/cache_factory.h"
#include "io/safetensors.h"

namespace mlxlm {
namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    out.push_back(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return out;
    start = dot + 1;
  }
}

// mlx's tree_flatten of a state tree: leaves keyed by their dot-joined list indices.
void flatten_state(StateTree& t, const std::string& prefix, DType dtype,
                   std::vector<std::pair<std::string, Tensor>>& out) {
  if (t.is_leaf) {
    // Float arrays of rank >= 2 are the cache contents and take the model dtype; rank-1 arrays
    // are offsets, paddings or the empty F32 placeholder mlx-lm writes for None, kept as they are.
    if (t.leaf.dtype() == DType::F32 && t.leaf.ndim() >= 2 && dtype != DType::F32) {
      Tensor c(dtype, t.leaf.shape());
      convert_from_f32(t.leaf.data<float>(), t.leaf.numel(), dtype, c.data());
      out.emplace_back(prefix, std::move(c));
    } else {
      out.emplace_back(prefix, std::move(t.leaf));
    }
    return;
  }
  for (size_t i = 0; i < t.items.size(); ++i) {
    flatten_state(t.items[i], prefix + "." + std::to_string(i), dtype, out);
  }
}

void flatten_meta(const MetaTree& t, const std::string& prefix,
                  std::map<std::string, std::string>& out) {
  if (t.is_leaf) {
    out[prefix] = t.value;
    return;
  }
  for (size_t i = 0; i < t.items.size(); ++i) {
    flatten_meta(t.items[i], prefix + "." + std::to_string(i), out);
  }
}

// A tree under construction from flattened paths; children keyed by index.
template <typename Leaf>
struct Node {
  bool has_leaf = false;
  Leaf leaf{};
  std::map<int64_t, Node> children;
};

template <typename Leaf>
void insert(Node<Leaf>& root, const std::vector<std::string>& parts, size_t from, Leaf leaf,
            const std::string& full, const char* kind) {
  Node<Leaf>* n = &root;
  for (size_t i = from; i < parts.size(); ++i) {
    if (!all_digits(parts[i]) || parts[i].size() > 9) {
      throw InvalidInput("cache", std::string("unexpected ") + kind + " '" + full +
                                      "' (prompt-cache paths are dot-joined list indices)");
    }
    n = &n->children[std::stoll(parts[i])];
  }
  n->has_leaf = true;
  n->leaf = std::move(leaf);
}

// Converts to the list tree; `path` names the node in errors.
StateTree to_state(Node<TensorView>& n, const std::string& path) {
  if (n.has_leaf) {
    if (!n.children.empty()) {
      throw InvalidInput("cache", "tensor '" + path + "' is both an array and a list");
    }
    return StateTree::of(Tensor::copy_of(n.leaf));
  }
  StateTree t;
  int64_t expect = 0;
  for (auto& [i, child] : n.children) {
    if (i != expect) {
      throw InvalidInput("cache", "missing tensor '" + path + "." + std::to_string(expect) + "'");
    }
    t.add(to_state(child, path + "." + std::to_string(i)));
    ++expect;
  }
  return t;
}

MetaTree to_meta(const Node<std::string>& n, const std::string& path) {
  if (n.has_leaf) {
    if (!n.children.empty()) {
      throw InvalidInput("cache", "metadata '" + path + "' is both a value and a list");
    }
    return MetaTree::str(n.leaf);
  }
  MetaTree t = MetaTree::list();
  int64_t expect = 0;
  for (const auto& [i, child] : n.children) {
    if (i != expect) {
      throw InvalidInput("cache", "missing metadata '" + path + "." + std::to_string(expect) + "'");
    }
    t.items.push_back(to_meta(child, path + "." + std::to_string(i)));
    ++expect;
  }
  return t;
}

// Collects every leaf path of a node ("0", "1.2", ...), relative to it.
void leaf_paths(const Node<TensorView>& n, const std::string& prefix, std::set<std::string>& out) {
  if (n.has_leaf) out.insert(prefix);
  for (const auto& [i, child] : n.children) {
    leaf_paths(child, prefix.empty() ? std::to_string(i) : prefix + "." + std::to_string(i), out);
  }
}

}  // namespace

std::string save_prompt_cache(const std::string& path, const PromptCache& cache,
                              const std::map<std::string, std::string>& metadata, DType dtype) {
  return save_prompt_cache(path, cache, metadata, std::vector<DType>(cache.size(), dtype));
}

std::string save_prompt_cache(const std::string& path, const PromptCache& cache,
                              const std::map<std::string, std::string>& metadata,
                              const std::vector<DType>& layer_dtypes) {
  if (layer_dtypes.size() != cache.size()) {
    throw std::logic_error("save_prompt_cache: " + std::to_string(layer_dtypes.size()) +
                           " dtypes for " + std::to_string(cache.size()) + " layers");
  }
  for (DType dtype : layer_dtypes) {
    if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16) {
      throw InvalidInput(
          "cache", "prompt caches store F32, F16 or BF16, not " + std::string(dtype_name(dtype)));
    }
  }
  std::string file = path;
  const std::string suffix = ".safetensors";
  if (file.size() < suffix.size() ||
      file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0) {
    file += suffix;
  }
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::map<std::string, std::string> meta;
  for (size_t l = 0; l < cache.size(); ++l) {
    const std::string layer = std::to_string(l);
    StateTree state = cache[l]->state();
    flatten_state(state, layer, layer_dtypes[l], tensors);
    flatten_meta(cache[l]->meta_state(), "0." + layer, meta);
    meta["2." + layer] = cache[l]->class_name();
  }
  for (const auto& [k, v] : metadata) {
    if (k.empty() || k.find('.') != std::string::npos || all_digits(k)) {
      throw InvalidInput("cache", "metadata key '" + k +
                                      "' cannot be stored: keys must be non-empty, contain no '.' "
                                      "and not be all digits");
    }
    meta["1." + k] = v;
  }
  std::vector<NamedTensor> named;
  named.reserve(tensors.size());
  for (const auto& [name, t] : tensors) named.push_back({name, t.view()});
  save_safetensors(file, named, meta);
  return file;
}

LoadedPromptCache load_prompt_cache(const std::string& path) {
  std::unique_ptr<SafetensorsFile> file;
  try {
    file = std::make_unique<SafetensorsFile>(path);
  } catch (const InvalidInput& e) {
    throw InvalidInput("cache", "cannot read prompt cache: " + std::string(e.what()));
  }
  auto fail = [&](const std::string& what) -> void {
    throw InvalidInput("cache", path + ": " + what);
  };

  // Metadata: 0.* meta states, 1.* user metadata, 2.* class names.
  LoadedPromptCache out;
  std::map<int64_t, std::string> classes;
  Node<std::string> meta_root;
  for (const auto& [key, value] : file->metadata()) {
    auto parts = split(key);
    if (parts[0] == "1" && parts.size() >= 2) {
      out.metadata[key.substr(2)] = value;
    } else if (parts[0] == "2" && parts.size() == 2 && all_digits(parts[1]) &&
               parts[1].size() < 10) {
      classes[std::stoll(parts[1])] = value;
    } else if (parts[0] == "0" && parts.size() >= 2) {
      try {
        insert(meta_root, parts, 1, value, key, "metadata");
      } catch (const InvalidInput& e) {
        fail(e.what());
      }
    } else {
      fail("unexpected metadata key '" + key + "' (not written by save_prompt_cache)");
    }
  }
  if (classes.empty()) fail("not a prompt-cache file: no cache class names (metadata '2.<layer>')");
  const auto n_layers = static_cast<int64_t>(classes.size());
  for (int64_t l = 0; l < n_layers; ++l) {
    if (classes.count(l) == 0) fail("metadata has no class name for layer " + std::to_string(l));
  }
  for (const auto& [l, name] : classes) {
    if (!is_known_cache_class(name)) {
      fail("layer " + std::to_string(l) + ": unknown cache class '" + name + "'");
    }
  }
  for (const auto& [l, node] : meta_root.children) {
    if (l >= n_layers)
      fail("metadata for layer " + std::to_string(l) + " but the file has " +
           std::to_string(n_layers) + " layers");
  }

  // Tensors, grouped per layer.
  Node<TensorView> root;
  for (const std::string& name : file->names()) {
    auto parts = split(name);
    if (!all_digits(parts[0]) || parts[0].size() > 9 || std::stoll(parts[0]) >= n_layers) {
      fail("unexpected tensor '" + name + "' (the file has " + std::to_string(n_layers) +
           " layers)");
    }
    try {
      insert(root, parts, 0, file->get(name), name, "tensor");
    } catch (const InvalidInput& e) {
      fail(e.what());
    }
  }

  for (int64_t l = 0; l < n_layers; ++l) {
    const std::string& cls = classes[l];
    const std::string where = "layer " + std::to_string(l) + " (" + cls + "): ";
    Node<TensorView>& layer = root.children[l];
    try {
      auto mit = meta_root.children.find(l);
      MetaTree meta = mit == meta_root.children.end() ? MetaTree::str("")
                                                      : to_meta(mit->second, std::to_string(l));
      if (auto expected = expected_state_paths(cls, meta)) {
        std::set<std::string> have;
        leaf_paths(layer, "", have);
        for (const auto& p : *expected) {
          if (have.count(p) == 0)
            fail(where + "missing tensor '" + std::to_string(l) + "." + p + "'");
        }
        for (const auto& p : have) {
          if (std::find(expected->begin(), expected->end(), p) == expected->end()) {
            fail(where + "unexpected tensor '" + std::to_string(l) + "." + p + "'");
          }
        }
      }
      StateTree state = to_state(layer, std::to_string(l));
      out.cache.push_back(cache_from_state(cls, std::move(state), meta));
    } catch (const InvalidInput& e) {
      std::string msg = e.what();
      if (msg.rfind("[cache] " + path, 0) == 0) throw;
      if (msg.rfind("[cache] ", 0) == 0) msg = msg.substr(8);
      fail(where + msg);
    }
  }
  return out;
}

}  // namespace mlxlm
