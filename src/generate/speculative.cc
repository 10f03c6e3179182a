#include "mlxlm/speculative.h"

#include <algorithm>

#include "base/error.h"
#include "mlxlm/prefill.h"
#include "models/model.h"
#include "sampling/next_token.h"

namespace mlxlm {
void check_draft_vocabulary(const Model& target, const Model& draft) {
  if (target.info().vocab_size != draft.info().vocab_size) {
    throw InvalidInput("generate", "draft model vocabulary (" +
                                       std::to_string(draft.info().vocab_size) +
                                       ") differs from the model's (" +
                                       std::to_string(target.info().vocab_size) + ")");
  }
}

SpeculativeTokenGenerator::SpeculativeTokenGenerator(const Model& target, const Model& draft,
                                                     std::span<const int32_t> prompt,
                                                     PromptCache& target_cache,
                                                     PromptCache& draft_cache, Sampler& sampler,
                                                     std::vector<LogitsProcessor> processors,
                                                     SpeculativeOptions options)
    : target_(target),
      draft_(draft),
      target_cache_(target_cache),
      draft_cache_(draft_cache),
      sampler_(sampler),
      processors_(std::move(processors)),
      options_(options),
      history_(prompt.begin(), prompt.end()) {
  if (prompt.empty())
    throw InvalidInput("generate", "the prompt is empty: nothing to condition on");
  check_draft_vocabulary(target, draft);
  if (!can_trim_prompt_cache(target_cache) || !can_trim_prompt_cache(draft_cache)) {
    throw InvalidInput("generate", "speculative decoding needs trimmable caches");
  }
  if (options_.num_draft_tokens < 1)
    throw InvalidInput("generate", "num_draft_tokens must be >= 1");
  if (options_.prefill_step_size < 1)
    throw InvalidInput("generate", "prefill_step_size must be positive");
  target_start_ = target_cache.empty() ? 0 : target_cache[0]->offset();
  draft_start_ = draft_cache.empty() ? 0 : draft_cache[0]->offset();
}

SpeculativeTokenGenerator::~SpeculativeTokenGenerator() {
  // A consumer that stops mid-round leaves both caches as if the round had ended (mlx-lm's
  // finally).
  if (!round_rewound_) rewind();
}

Tensor SpeculativeTokenGenerator::forward(const Model& model, std::span<const int32_t> tokens,
                                          PromptCache& cache, bool last_only) {
  Tensor logits = model.forward(tokens, 1, cache, last_only);
  maybe_quantize_kv_cache(cache, options_.kv_bits, options_.kv_group_size,
                          options_.quantized_kv_start);
  return logits;
}

int32_t SpeculativeTokenGenerator::sample_row(const float* logits, std::vector<float>& lp) {
  const auto vocab = static_cast<size_t>(target_.info().vocab_size);
  return sample_next_token({logits, vocab}, history_, processors_, sampler_, lp);
}

void SpeculativeTokenGenerator::prefill() {
  // Both models take all but the last prompt token, in chunks, quantized as the steps will be.
  const std::span<const int32_t> head = std::span(history_).first(history_.size() - 1);
  if (!head.empty()) {
    const PrefillOptions o{options_.prefill_step_size, options_.kv_bits, options_.kv_group_size,
                           options_.quantized_kv_start};
    mlxlm::prefill(target_, head, target_cache_, o);
    mlxlm::prefill(draft_, head, draft_cache_, o);
  }
  y_ = {history_.back()};
  draft_y_ = y_;
  prefilled_ = true;
}

void SpeculativeTokenGenerator::rewind() {
  const int k = static_cast<int>(round_drafts_.size());
  const int n = round_accepted_;
  trim_prompt_cache(target_cache_, k - n);
  trim_prompt_cache(draft_cache_, std::max(k - n - 1, 0));
  round_rewound_ = true;
}

void SpeculativeTokenGenerator::commit() {
  if (!round_rewound_) rewind();
  sync_cache(target_, target_cache_, target_start_);
  sync_cache(draft_, draft_cache_, draft_start_);
}

// Trims `cache` back to, or feeds it up to, `start` + history_.size() tokens.
void SpeculativeTokenGenerator::sync_cache(const Model& model, PromptCache& cache, int64_t start) {
  if (cache.empty()) return;
  const auto want = start + static_cast<int64_t>(history_.size());
  const int64_t have = cache[0]->offset();
  if (have > want) {
    trim_prompt_cache(cache, have - want);
  } else if (have < want) {
    forward(model, std::span(history_).subspan(static_cast<size_t>(have - start)), cache, true);
  }
}

void SpeculativeTokenGenerator::run_round() {
  const int k = std::min(options_.max_tokens - emitted_, options_.num_draft_tokens);
  const size_t base = history_.size();

  // The draft proposes k tokens one at a time with the same sampler and processors.
  round_drafts_.clear();
  std::vector<int32_t> input = draft_y_;
  for (int i = 0; i < k; ++i) {
    Tensor logits = forward(draft_, input, draft_cache_, true);
    int32_t d = sample_row(logits.data<float>(), draft_logprobs_);
    round_drafts_.push_back(d);
    history_.push_back(d);  // processors of later drafts see earlier ones
    input = {d};
  }
  history_.resize(base);

  // The target scores y and all drafts in one pass and samples k + 1 tokens.
  std::vector<int32_t> verify = y_;
  verify.insert(verify.end(), round_drafts_.begin(), round_drafts_.end());
  Tensor logits = forward(target_, verify, target_cache_, false);
  const int64_t vocab = target_.info().vocab_size;
  const int64_t first = static_cast<int64_t>(verify.size()) - (k + 1);
  round_tokens_.assign(k + 1, 0);
  round_logprobs_.resize(k + 1);
  for (int i = 0; i <= k; ++i) {
    round_tokens_[i] = sample_row(logits.data<float>() + (first + i) * vocab, round_logprobs_[i]);
    if (i < k) history_.push_back(round_drafts_[i]);
  }
  history_.resize(base);

  round_accepted_ = 0;
  while (round_accepted_ < k && round_tokens_[round_accepted_] == round_drafts_[round_accepted_]) {
    ++round_accepted_;
  }
  // The round's rewind must find its caches trimmable still: a rotating cache that has filled
  // its window has evicted what the rewind would restore, and trim_prompt_cache would silently
  // skip it. (Thrown here, not from the rewind, which may run in the destructor.)
  const int rejected = k - round_accepted_;
  if ((rejected > 0 && !can_trim_prompt_cache(target_cache_)) ||
      (rejected > 1 && !can_trim_prompt_cache(draft_cache_))) {
    throw InvalidInput("generate",
                       "speculative decoding cannot rewind a cache that stopped being trimmable "
                       "(a rotating cache that filled its window)");
  }
  drafted_ += k;
  accepted_ += round_accepted_;
  round_pos_ = 0;
  round_rewound_ = false;
}

std::optional<SpeculativeTokenGenerator::Step> SpeculativeTokenGenerator::next() {
  if (emitted_ >= options_.max_tokens) {
    if (!round_rewound_) rewind();
    return std::nullopt;
  }
  if (!prefilled_) prefill();
  if (round_rewound_) run_round();

  const auto pos = static_cast<int>(round_pos_);
  const bool from_draft = pos < round_accepted_;
  Step s{round_tokens_[pos], round_logprobs_[pos], from_draft};
  history_.push_back(s.token);
  ++emitted_;
  ++round_pos_;
  if (!from_draft) {
    // The round's last token: rewind, and set up the inputs of the next round.
    rewind();
    y_ = {s.token};
    draft_y_ = y_;
    if (round_accepted_ == static_cast<int>(round_drafts_.size())) {
      draft_y_.insert(draft_y_.begin(), round_drafts_.back());
    }
  }
  return s;
}

}  // namespace mlxlm
