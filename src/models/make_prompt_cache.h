#pragma once
// mlx-lm's make_prompt_cache (spec 3.4), with its known gap fixed: max_kv_size is honoured for
// every model. The model chooses its per-layer caches; with max_kv_size every plain KVCache among
// them (also inside a CacheList) becomes RotatingKVCache(max_kv_size, keep=4), keeping the first
// four tokens as an attention sink; below 5, max_kv_size - 1 of them, so that the newest token
// keeps a slot (mlx-lm's cache has none there). Caches the model chose for a reason (rotating
// sliding-window layers, SSM state, chunked attention) stay as they are.
#include <cstdint>

#include "cache/cache.h"
#include "models/model.h"

namespace mlxlm {

// max_kv_size 0 = unbounded.
PromptCache make_prompt_cache(const Model& model, int64_t max_kv_size = 0);

// The same replacement on an existing list of fresh caches.
void bound_prompt_cache(PromptCache& cache, int64_t max_kv_size);

}  // namespace mlxlm
