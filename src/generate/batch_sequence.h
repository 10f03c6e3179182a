#pragma once
// What the batch generator's files share: a sequence's state and the per-layer cache helpers.
// Internal to the generate layer.
#include <cstdint>
#include <memory>
#include <vector>

#include "generate/stop_matcher.h"
#include "mlxlm/batch.h"
#include "sampling/sampler.h"

namespace mlxlm {

struct BatchGenerator::Sequence {
  uint64_t uid = 0;
  std::vector<int32_t> tokens;  // cached + prompt + reported tokens
  int64_t prompt_begin = 0;     // tokens before this index were in the given cache
  int64_t prompt_end = 0;
  std::vector<int64_t> segment_ends;  // indices into `tokens` where prefill pauses
  int64_t processed = 0;              // tokens already in the cache
  int max_tokens = 0;
  int generated = 0;
  PromptCache cache;  // the sequence's own cache while it waits in the queue
  std::unique_ptr<Sampler> sampler;
  std::vector<LogitsProcessor> processors;
  StopSequenceMatcher matcher;
  int32_t pending = 0;  // sampled, not yet fed or reported
  std::vector<float> pending_logprobs;
};

namespace batch_layers {

// The caches of a new batched sequence: the model's own, with every plain KVCache bounded to
// max_kv_size as RotatingKVCache(max_kv_size, keep=0) (batch rotating caches keep no sink
// tokens, as in mlx-lm's BatchGenerator).
PromptCache sequence_cache(const Model& model, int64_t max_kv_size);

// Row `row` of a batch cache as a single-sequence cache.
PromptCache extract_row(const PromptCache& batch, int64_t row);

// Keeps only `rows` of every layer (none: the cache is emptied).
void filter(PromptCache& batch, const std::vector<int64_t>& rows);

}  // namespace batch_layers
}  // namespace mlxlm
