#pragma once
// speculative_generate_step of mlx-lm (spec 2.2): a draft model proposes tokens one at a time, the
// target checks them all in one forward pass, and tokens are accepted while they match exactly.
// Every emitted token is the target's own sample, so greedy output equals plain generation.
#include <optional>
#include <vector>

#include "mlxlm/generate.h"

namespace mlxlm {

struct SpeculativeOptions {
  int max_tokens = 256;
  int num_draft_tokens = 2;
  int prefill_step_size = 512;
  // KV-cache quantization of both models' caches after every forward pass, as generate_step
  // (0 bits: none).
  int kv_bits = 0;
  int kv_group_size = 64;
  int64_t quantized_kv_start = 0;
};

// Throws InvalidInput naming both sizes when `draft`'s vocabulary is not `target`'s (mlx-lm's
// check before speculative decoding).
void check_draft_vocabulary(const Model& target, const Model& draft);

class SpeculativeTokenGenerator {
 public:
  struct Step {
    int32_t token;
    std::span<const float> logprobs;  // valid until the next call
    bool from_draft;                  // proposed by the draft and accepted by the target
  };

  // Both caches must be trimmable. Throws InvalidInput when the vocabularies differ.
  SpeculativeTokenGenerator(const Model& target, const Model& draft,
                            std::span<const int32_t> prompt, PromptCache& target_cache,
                            PromptCache& draft_cache, Sampler& sampler,
                            std::vector<LogitsProcessor> processors = {},
                            SpeculativeOptions options = {});
  ~SpeculativeTokenGenerator();

  std::optional<Step> next();
  // Brings both caches to hold exactly the prompt and every token next() has returned, as
  // TokenGenerator::commit does: mid-round, the target holds the round's accepted drafts
  // (which the consumer may not have taken) and not the last returned token. For a caller
  // that keeps the caches for a later turn; call it once, after the last next().
  void commit();
  // Draft tokens proposed and accepted so far.
  int64_t drafted() const { return drafted_; }
  int64_t accepted() const { return accepted_; }

 private:
  struct Round;
  void prefill();
  void run_round();
  void rewind();
  void sync_cache(const Model& model, PromptCache& cache, int64_t start);
  int32_t sample_row(const float* logits, std::vector<float>& logprobs_out);
  // One forward pass of `model` on `tokens`, then the caches quantized when due.
  Tensor forward(const Model& model, std::span<const int32_t> tokens, PromptCache& cache,
                 bool last_only);

  const Model& target_;
  const Model& draft_;
  PromptCache& target_cache_;
  PromptCache& draft_cache_;
  Sampler& sampler_;
  std::vector<LogitsProcessor> processors_;
  SpeculativeOptions options_;
  std::vector<int32_t> history_;  // prompt + emitted tokens (what processors see)
  int64_t target_start_ = 0;      // tokens each cache held before the prompt
  int64_t draft_start_ = 0;
  std::vector<int32_t> y_;        // target input of the next round
  std::vector<int32_t> draft_y_;  // draft input of the next round
  std::vector<int32_t> round_tokens_;
  std::vector<std::vector<float>> round_logprobs_;
  std::vector<int32_t> round_drafts_;
  size_t round_pos_ = 0;
  int round_accepted_ = 0;
  bool round_rewound_ = true;
  int emitted_ = 0;
  bool prefilled_ = false;
  int64_t drafted_ = 0;
  int64_t accepted_ = 0;
  std::vector<float> draft_logprobs_;
};

}  // namespace mlxlm
