#include <algorithm>

#include "base/error.h"
#include "cache/cache.h"
#include "mlxlm/generate.h"
#include "models/model.h"
#include "sampling/next_token.h"

namespace mlxlm {

TokenGenerator::TokenGenerator(const Model& model, std::span<const int32_t> prompt,
                               PromptCache& cache, Sampler& sampler,
                               std::vector<LogitsProcessor> processors, GenerateStepOptions options,
                               PromptProgress progress)
    : model_(model),
      cache_(cache),
      sampler_(sampler),
      processors_(std::move(processors)),
      options_(options),
      progress_(std::move(progress)),
      history_(prompt.begin(), prompt.end()),
      prompt_len_(static_cast<int64_t>(prompt.size())) {
  if (prompt.empty())
    throw InvalidInput("generate", "the prompt is empty: nothing to condition on");
  if (options_.prefill_step_size <= 0) {
    throw InvalidInput("generate", "prefill_step_size must be positive");
  }
}

void TokenGenerator::quantize_cache() {
  maybe_quantize_kv_cache(cache_, options_.kv_bits, options_.kv_group_size,
                          options_.quantized_kv_start);
}

void TokenGenerator::prefill() {
  const int64_t total = prompt_len_;
  if (progress_) progress_(0, total);
  int64_t done = 0;
  // All but the last prompt token go through in chunks; the last one yields the first logits.
  while (total - done > 1) {
    int64_t n = std::min<int64_t>(options_.prefill_step_size, total - done - 1);
    model_.forward(std::span(history_).subspan(done, n), 1, cache_, /*last_only=*/true);
    quantize_cache();
    done += n;
    if (progress_) progress_(done, total);
  }
}

TokenGenerator::Step TokenGenerator::sample_from(const float* logits) {
  const auto vocab = static_cast<size_t>(model_.info().vocab_size);
  const int32_t token =
      sample_next_token({logits, vocab}, history_, processors_, sampler_, logprobs_);
  history_.push_back(token);
  ++produced_;
  pending_ = true;
  return {token, logprobs_};
}

std::optional<TokenGenerator::Step> TokenGenerator::next() {
  if (options_.max_tokens >= 0 && produced_ >= options_.max_tokens) {
    if (produced_ == 0 && cache_[0]->offset() < prompt_len_) {
      // max_tokens == 0: the prompt still ends up in the cache, as in mlx-lm.
      prefill();
      model_.forward(std::span(history_).last(1), 1, cache_, true);
      quantize_cache();
    }
    return std::nullopt;
  }
  if (produced_ == 0) {
    prefill();
    Tensor logits =
        model_.forward(std::span(history_).subspan(prompt_len_ - 1, 1), 1, cache_, true);
    quantize_cache();
    Step s = sample_from(logits.data<float>());
    if (progress_) progress_(prompt_len_, prompt_len_);
    return s;
  }
  Tensor logits = model_.forward(std::span(history_).last(1), 1, cache_, true);
  quantize_cache();
  pending_ = false;
  return sample_from(logits.data<float>());
}

void TokenGenerator::commit() {
  if (!pending_) return;
  model_.forward(std::span(history_).last(1), 1, cache_, true);
  quantize_cache();
  pending_ = false;
}

}  // namespace mlxlm
