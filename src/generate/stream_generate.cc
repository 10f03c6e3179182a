#include "base/memory.h"
#include "base/timer.h"
#include "mlxlm/generate.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"

namespace mlxlm {

void stream_generate(const Model& model, const Tokenizer& tokenizer,
                     std::span<const int32_t> prompt, const GenerationOptions& options,
                     PromptCache* cache, const ResponseCallback& callback) {
  PromptCache own_cache;
  if (cache == nullptr) {
    own_cache = model.make_cache();
    cache = &own_cache;
  }
  Sampler sampler(options.sampler);
  TokenGenerator gen(model, prompt, *cache, sampler, make_logits_processors(options.processors),
                     options.step);
  auto detok = tokenizer.make_detokenizer();

  GenerationResponse r;
  r.prompt_tokens = static_cast<int64_t>(prompt.size());
  Timer timer;
  double prompt_time = 0;
  int64_t n = 0;
  bool stopped_by_caller = false;
  while (auto step = gen.next()) {
    if (n == 0) {
      prompt_time = timer.seconds();
      r.prompt_tps = prompt_time > 0 ? static_cast<double>(r.prompt_tokens) / prompt_time : 0;
      timer.reset();
    }
    r.token = step->token;
    r.logprobs = step->logprobs;
    r.generation_tokens = n + 1;
    double gen_time = timer.seconds();
    r.generation_tps = gen_time > 0 ? static_cast<double>(r.generation_tokens) / gen_time : 0;
    r.peak_memory = static_cast<double>(peak_memory_bytes()) / 1e9;

    if (options.eos_token_ids.count(step->token) != 0) {
      r.finish_reason = "stop";
      break;
    }
    detok->add_token(step->token);
    if (options.step.max_tokens >= 0 && n + 1 == options.step.max_tokens) {
      r.finish_reason = "length";
      break;
    }
    r.text = detok->last_segment();
    r.finish_reason.clear();
    ++n;
    if (!callback(r)) {
      stopped_by_caller = true;
      break;
    }
  }
  if (cache != &own_cache) gen.commit();
  if (stopped_by_caller) return;
  if (r.finish_reason.empty()) r.finish_reason = "length";  // max_tokens == 0 or no steps
  detok->finalize();
  r.text = detok->last_segment();
  callback(r);
}

std::string generate(const Model& model, const Tokenizer& tokenizer,
                     std::span<const int32_t> prompt, const GenerationOptions& options,
                     PromptCache* cache) {
  std::string text;
  stream_generate(model, tokenizer, prompt, options, cache, [&](const GenerationResponse& r) {
    text += r.text;
    return true;
  });
  return text;
}

}  // namespace mlxlm
