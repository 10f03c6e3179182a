#pragma once
// Prompt-cache files, byte-compatible with mlx-lm's save_prompt_cache / load_prompt_cache
// (spec 3.5): safetensors whose tensors are tree_flatten([c.state for c in cache]) and whose
// metadata is tree_flatten([[c.meta_state ...], user_metadata, [class names]]).
#include <map>
#include <string>
#include <vector>

#include "cache/cache.h"

namespace mlxlm {

struct LoadedPromptCache {
  PromptCache cache;
  std::map<std::string, std::string> metadata;  // the user metadata ("1.<key>" entries)
};

// Writes `cache` atomically to `path` (".safetensors" appended when missing, as mlx does) and
// returns the path written. Float state (keys, values, quantization scales and biases, state
// slots) is stored as `dtype` (the model's dtype: F32, F16 or BF16); offsets and paddings as I32.
// User metadata keys must not contain '.' nor be all digits (mlx-lm could not read them back).
std::string save_prompt_cache(const std::string& path, const PromptCache& cache,
                              const std::map<std::string, std::string>& metadata = {},
                              DType dtype = DType::F32);
// The same with one dtype per layer (a cache for speculative decoding keeps the draft's layers
// in the draft's dtype).
std::string save_prompt_cache(const std::string& path, const PromptCache& cache,
                              const std::map<std::string, std::string>& metadata,
                              const std::vector<DType>& layer_dtypes);

// Reads and validates a prompt-cache file; throws InvalidInput naming the file, the layer and the
// problem (unknown class, missing or extra tensors, wrong dtypes, shapes that contradict the meta
// state, truncated or malformed file).
LoadedPromptCache load_prompt_cache(const std::string& path);

}  // namespace mlxlm
