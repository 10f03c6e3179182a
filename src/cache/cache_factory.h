#pragma once
// The explicit class-name -> cache table behind prompt-cache files (mlx-lm's
// `globals()[name].from_state`) and the batch merge dispatch (mlx-lm's `merge` classmethods).
#include <optional>
#include <string>
#include <vector>

#include "cache/cache.h"

namespace mlxlm {

// True for every class name a prompt-cache file may name.
bool is_known_cache_class(const std::string& name);
// Builds a cache from its state and meta state, validating both; throws InvalidInput.
std::unique_ptr<Cache> cache_from_state(const std::string& class_name, StateTree state,
                                        const MetaTree& meta);
// The tensor paths (relative to the layer, "0", "1.2", ...) a cache of this class and meta state
// stores, or nullopt when the class stores a variable number (ArraysCache, CacheList with one).
std::optional<std::vector<std::string>> expected_state_paths(const std::string& class_name,
                                                             const MetaTree& meta);

// mlx-lm's `merge`: one batch cache from single-sequence caches of one class (KVCache ->
// BatchKVCache, RotatingKVCache -> BatchRotatingKVCache, ArraysCache, CacheList per child).
std::unique_ptr<Cache> merge_caches(const std::vector<const Cache*>& caches);

}  // namespace mlxlm
