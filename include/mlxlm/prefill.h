#pragma once
// Prefill: run a prompt through the model only to fill its cache (mlxlm cache-prompt, reusable
// prefixes). Unlike generation with zero new tokens, every token (the last one too) goes through
// in chunks, no logits are sampled, and the cache is quantized as generation would quantize it.
#include <cstdint>
#include <span>

#include "cache/cache.h"
#include "mlxlm/generate.h"

namespace mlxlm {

class Model;

struct PrefillOptions {
  int prefill_step_size = 2048;  // tokens per forward pass
  int kv_bits = 0;               // 0 = keep float keys and values
  int kv_group_size = 64;
  int64_t quantized_kv_start = 0;
};

struct PrefillStats {
  int64_t tokens = 0;
  double seconds = 0;
  double tokens_per_second = 0;
};

// Appends `tokens` to `cache`; `progress` gets (0, n) first and (done, n) after every chunk.
PrefillStats prefill(const Model& model, std::span<const int32_t> tokens, PromptCache& cache,
                     const PrefillOptions& options = {}, const PromptProgress& progress = {});

}  // namespace mlxlm
