#include "models/make_prompt_cache.h"

#include "base/error.h"
#include "cache/cache_list.h"
#include "cache/rotating_kv_cache.h"

namespace mlxlm {
namespace {

constexpr int64_t kSinkTokens = 4;

void bound(std::unique_ptr<Cache>& c, int64_t max_kv_size) {
  if (c->class_name() == "KVCache") {
    // Fewer sink tokens when the window is smaller than 5, so that the newest token always has
    // a slot of its own.
    c = std::make_unique<RotatingKVCache>(max_kv_size, std::min(kSinkTokens, max_kv_size - 1));
  } else if (auto* list = dynamic_cast<CacheList*>(c.get())) {
    for (auto& child : list->children()) bound(child, max_kv_size);
  }
}

}  // namespace

void bound_prompt_cache(PromptCache& cache, int64_t max_kv_size) {
  if (max_kv_size < 0) throw InvalidInput("cache", "max_kv_size must be positive");
  if (max_kv_size == 0) return;
  for (auto& c : cache) bound(c, max_kv_size);
}

PromptCache make_prompt_cache(const Model& model, int64_t max_kv_size) {
  PromptCache cache = model.make_cache();
  bound_prompt_cache(cache, max_kv_size);
  return cache;
}

}  // namespace mlxlm
