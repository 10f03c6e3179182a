#pragma once
// The generation API of mlx-lm (spec 2.1 and 2.3): a pull-style generate_step, stream_generate
// with per-token responses and statistics, and generate.
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "cache/cache.h"
#include "sampling/logits_processors.h"
#include "sampling/sampler.h"

namespace mlxlm {

class Model;
class Tokenizer;

struct GenerateStepOptions {
  int max_tokens = 256;          // tokens to produce; -1 = until the caller stops
  int prefill_step_size = 2048;  // prompt tokens per forward pass while prefilling
  // KV-cache quantization (spec 2.1 item 6): 0 = off. Once a layer's cache holds
  // quantized_kv_start tokens it is replaced by its quantized form (also a rotating cache).
  int kv_bits = 0;
  int kv_group_size = 64;
  int64_t quantized_kv_start = 0;
  // A cache the generator makes itself keeps at most this many tokens per layer (0 = no bound):
  // every plain KVCache becomes RotatingKVCache(max_kv_size, keep=4), for every model.
  int64_t max_kv_size = 0;
};

// Called with (0, total) before prefill, after every chunk, and (total, total) once the first
// token is ready.
using PromptProgress = std::function<void(int64_t processed, int64_t total)>;

// generate_step: prefills the prompt into `cache` in chunks, then yields one sampled token per
// next() call. As in mlx-lm, EOS is not handled here, and the logprobs are those after the
// logits processors and before the sampler's filters. Every token returned has been fed to the
// model except the most recent one; commit() feeds that one too.
class TokenGenerator {
 public:
  struct Step {
    int32_t token;
    std::span<const float> logprobs;  // valid until the next call
  };

  // `model`, `cache` and `sampler` must outlive the generator. Throws InvalidInput for an
  // empty prompt.
  TokenGenerator(const Model& model, std::span<const int32_t> prompt, PromptCache& cache,
                 Sampler& sampler, std::vector<LogitsProcessor> processors = {},
                 GenerateStepOptions options = {}, PromptProgress progress = {});

  // The next token, or nullopt once max_tokens were produced. The first call prefills.
  std::optional<Step> next();
  // Feeds the most recent token into the cache, so the cache holds prompt + every token.
  void commit();
  // Prompt tokens followed by the tokens produced so far.
  const std::vector<int32_t>& tokens() const { return history_; }

 private:
  void prefill();
  void quantize_cache();
  Step sample_from(const float* logits);

  const Model& model_;
  PromptCache& cache_;
  Sampler& sampler_;
  std::vector<LogitsProcessor> processors_;
  GenerateStepOptions options_;
  PromptProgress progress_;
  std::vector<int32_t> history_;
  int64_t prompt_len_ = 0;
  int produced_ = 0;
  bool pending_ = false;  // the last returned token is not yet in the cache
  std::vector<float> logprobs_;
};

struct GenerationOptions {
  GenerateStepOptions step;
  // Speculative decoding: a draft model with the same vocabulary proposes this many tokens per
  // round (spec 2.2). A caller's cache may hold the draft's layers after the model's (mlx-lm's
  // layout), which the draft then keeps across calls; otherwise the draft's cache is created
  // per call.
  const Model* draft_model = nullptr;
  int num_draft_tokens = 3;
  PromptProgress prompt_progress;  // optional; see PromptProgress
  SamplerOptions sampler;
  LogitsProcessorOptions processors;
  std::set<int32_t> eos_token_ids;  // generation stops at any of these (not emitted as text)
};

struct GenerationResponse {
  std::string text;  // the new text segment (may be empty)
  int32_t token = 0;
  std::span<const float> logprobs;  // valid during the callback only
  bool from_draft = false;
  int64_t prompt_tokens = 0;
  double prompt_tps = 0;
  int64_t generation_tokens = 0;
  double generation_tps = 0;
  double peak_memory = 0;     // GB (bytes / 1e9)
  std::string finish_reason;  // "", "stop" or "length"
  // Speculative decoding only: draft tokens proposed and accepted so far.
  int64_t draft_tokens = 0;
  int64_t accepted_draft_tokens = 0;
};

// Returns false to stop early.
using ResponseCallback = std::function<bool(const GenerationResponse&)>;

// stream_generate: one response per token; the last one carries finish_reason and any text the
// detokenizer held back. With a caller-owned `cache` (may be null) the cache is updated in place
// and afterwards holds the prompt and every generated token.
void stream_generate(const Model& model, const Tokenizer& tokenizer,
                     std::span<const int32_t> prompt, const GenerationOptions& options,
                     PromptCache* cache, const ResponseCallback& callback);

// generate: the concatenated text of stream_generate.
std::string generate(const Model& model, const Tokenizer& tokenizer,
                     std::span<const int32_t> prompt, const GenerationOptions& options,
                     PromptCache* cache = nullptr);

}  // namespace mlxlm
