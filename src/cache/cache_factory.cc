#include "cache/cache_factory.h"

#include <functional>
#include <map>

#include "base/error.h"
#include "cache/arrays_cache.h"
#include "cache/batch_kv_cache.h"
#include "cache/batch_rotating_kv_cache.h"
#include "cache/cache_list.h"
#include "cache/chunked_kv_cache.h"
#include "cache/concatenate_kv_cache.h"
#include "cache/kv_cache.h"
#include "cache/quantized_kv_cache.h"
#include "cache/quantized_rotating_kv_cache.h"
#include "cache/rotating_kv_cache.h"

namespace mlxlm {
namespace {

// Empty instances, as mlx-lm's from_state builds them without __init__; state and meta state
// then set every field.
const std::map<std::string, std::function<std::unique_ptr<Cache>()>>& table() {
  static const std::map<std::string, std::function<std::unique_ptr<Cache>()>> t = {
      {"KVCache", [] { return std::make_unique<KVCache>(); }},
      {"ConcatenateKVCache", [] { return std::make_unique<ConcatenateKVCache>(); }},
      {"RotatingKVCache", [] { return std::make_unique<RotatingKVCache>(1); }},
      {"QuantizedKVCache", [] { return std::make_unique<QuantizedKVCache>(); }},
      {"QuantizedRotatingKVCache",
       [] { return std::make_unique<QuantizedRotatingKVCache>(1, 0, 64, 8); }},
      {"ChunkedKVCache", [] { return std::make_unique<ChunkedKVCache>(1); }},
      {"ArraysCache", [] { return std::make_unique<ArraysCache>(0); }},
      {"BatchKVCache", [] { return std::make_unique<BatchKVCache>(std::vector<int64_t>{}); }},
      {"BatchRotatingKVCache",
       [] { return std::make_unique<BatchRotatingKVCache>(1, std::vector<int64_t>{}); }},
  };
  return t;
}

std::vector<std::string> prefixed(const std::string& prefix, std::vector<std::string> paths) {
  for (auto& p : paths) p = prefix + "." + p;
  return paths;
}

}  // namespace

bool is_known_cache_class(const std::string& name) {
  return name == "CacheList" || table().count(name) != 0;
}

std::unique_ptr<Cache> cache_from_state(const std::string& class_name, StateTree state,
                                        const MetaTree& meta) {
  if (class_name == "CacheList") {
    if (meta.is_leaf || meta.items.size() != 2 || meta.items[0].is_leaf || meta.items[1].is_leaf ||
        meta.items[0].items.size() != meta.items[1].items.size()) {
      throw InvalidInput("cache", "CacheList meta state must be ([class names], [meta states])");
    }
    const size_t n = meta.items[0].items.size();
    expect_list(state, n, "CacheList");
    std::vector<std::unique_ptr<Cache>> children;
    for (size_t i = 0; i < n; ++i) {
      const MetaTree& name = meta.items[0].items[i];
      if (!name.is_leaf) throw InvalidInput("cache", "CacheList child class name is not a string");
      try {
        children.push_back(
            cache_from_state(name.value, std::move(state.items[i]), meta.items[1].items[i]));
      } catch (const InvalidInput& e) {
        std::string msg = e.what();
        if (msg.rfind("[cache] ", 0) == 0) msg = msg.substr(8);
        throw InvalidInput(
            "cache", "CacheList child " + std::to_string(i) + " (" + name.value + "): " + msg);
      }
    }
    return std::make_unique<CacheList>(std::move(children));
  }
  auto it = table().find(class_name);
  if (it == table().end()) throw InvalidInput("cache", "unknown cache class '" + class_name + "'");
  std::unique_ptr<Cache> c = it->second();
  c->set_state(std::move(state));
  c->set_meta_state(meta);
  c->validate();
  return c;
}

std::optional<std::vector<std::string>> expected_state_paths(const std::string& class_name,
                                                             const MetaTree& meta) {
  if (class_name == "KVCache" || class_name == "RotatingKVCache" ||
      class_name == "ChunkedKVCache" || class_name == "ConcatenateKVCache") {
    return std::vector<std::string>{"0", "1"};
  }
  if (class_name == "QuantizedKVCache" || class_name == "QuantizedRotatingKVCache") {
    return std::vector<std::string>{"0.0", "0.1", "0.2", "1.0", "1.1", "1.2"};
  }
  if (class_name == "BatchKVCache" || class_name == "BatchRotatingKVCache") {
    return std::vector<std::string>{"0", "1", "2", "3"};
  }
  if (class_name == "CacheList" && !meta.is_leaf && meta.items.size() == 2) {
    std::vector<std::string> out;
    const MetaTree& names = meta.items[0];
    for (size_t i = 0; i < names.items.size(); ++i) {
      const MetaTree& child_meta =
          i < meta.items[1].items.size() ? meta.items[1].items[i] : MetaTree::str("");
      auto child = expected_state_paths(names.items[i].value, child_meta);
      if (!child) return std::nullopt;
      auto p = prefixed(std::to_string(i), std::move(*child));
      out.insert(out.end(), p.begin(), p.end());
    }
    return out;
  }
  return std::nullopt;
}

std::unique_ptr<Cache> merge_caches(const std::vector<const Cache*>& caches) {
  if (caches.empty()) throw InvalidInput("cache", "merge of no caches");
  const std::string name = caches[0]->class_name();
  for (const Cache* c : caches) {
    if (c->class_name() != name) {
      throw InvalidInput("cache", "cannot merge a " + c->class_name() + " with a " + name);
    }
  }
  if (name == "KVCache") return BatchKVCache::merge(caches);
  if (name == "RotatingKVCache") return BatchRotatingKVCache::merge(caches);
  if (name == "ArraysCache") {
    std::vector<const ArraysCache*> a;
    for (const Cache* c : caches) a.push_back(static_cast<const ArraysCache*>(c));
    return ArraysCache::merge(a);
  }
  if (name == "CacheList") {
    const auto* first = static_cast<const CacheList*>(caches[0]);
    std::vector<std::unique_ptr<Cache>> children;
    for (size_t i = 0; i < first->count(); ++i) {
      std::vector<const Cache*> column;
      for (const Cache* c : caches) {
        const auto* l = static_cast<const CacheList*>(c);
        if (l->count() != first->count()) {
          throw InvalidInput("cache", "cannot merge CacheLists of different sizes");
        }
        column.push_back(&(*l)[i]);
      }
      children.push_back(merge_caches(column));
    }
    return std::make_unique<CacheList>(std::move(children));
  }
  throw InvalidInput("cache", name + " does not support batching (merge)");
}

}  // namespace mlxlm
