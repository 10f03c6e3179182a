#include <functional>
#include <iterator>
#include <memory>

#include "base/error.h"
#include "base/memory.h"
#include "base/timer.h"
#include "mlxlm/generate.h"
#include "mlxlm/speculative.h"
#include "models/make_prompt_cache.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"

namespace mlxlm {
namespace {

// What stream_generate needs from either generator.
struct StepSource {
  struct Step {
    int32_t token;
    std::span<const float> logprobs;
    bool from_draft;
  };
  std::function<std::optional<Step>()> next;
  std::function<void()> commit;
  std::function<std::pair<int64_t, int64_t>()> draft_stats;
};

}  // namespace

void stream_generate(const Model& model, const Tokenizer& tokenizer,
                     std::span<const int32_t> prompt, const GenerationOptions& options,
                     PromptCache* cache, const ResponseCallback& callback) {
  if (options.draft_model != nullptr && options.step.max_kv_size > 0) {
    // mlx-lm drops max_kv_size with a draft model; a bound the run would ignore is refused.
    throw InvalidInput("generate",
                       "max_kv_size cannot be combined with a draft model: speculative decoding "
                       "rewinds its caches, which a rotating cache cannot do once full");
  }
  PromptCache own_cache;
  if (cache == nullptr) {
    own_cache = make_prompt_cache(model, options.step.max_kv_size);
    cache = &own_cache;
  }
  Sampler sampler(options.sampler);
  check_sampler_vocabulary(options.sampler, model.info().vocab_size);
  auto processors = make_logits_processors(options.processors);

  // The draft cache must outlive the speculative generator, which rewinds it on destruction.
  PromptCache draft_cache;
  // Draft layers lent from the caller's cache go back to it after the generator has rewound
  // them (it is declared below, so destroyed first), also when generation throws.
  struct GiveBack {
    PromptCache* owner = nullptr;
    PromptCache* lent = nullptr;
    GiveBack() = default;
    GiveBack(const GiveBack&) = delete;  // a temporary's destructor would give the layers back
    GiveBack& operator=(const GiveBack&) = delete;
    ~GiveBack() {
      if (owner == nullptr) return;
      for (auto& layer : *lent) owner->push_back(std::move(layer));
    }
  } give_back;
  StepSource source;
  std::unique_ptr<TokenGenerator> plain;
  std::unique_ptr<SpeculativeTokenGenerator> speculative;
  if (options.draft_model != nullptr) {
    // mlx-lm's layout (spec 2.2): the target's layers, then the draft's, so that the draft keeps
    // the earlier turns too. A cache of the target's layers alone gets a fresh draft cache:
    // still correct, but its proposals miss what came before.
    const auto target_layers = static_cast<size_t>(model.info().num_layers);
    const auto draft_layers = static_cast<size_t>(options.draft_model->info().num_layers);
    if (cache->size() == target_layers + draft_layers) {
      const auto split = cache->begin() + static_cast<std::ptrdiff_t>(target_layers);
      draft_cache.assign(std::make_move_iterator(split), std::make_move_iterator(cache->end()));
      cache->erase(split, cache->end());
      give_back.owner = cache;
      give_back.lent = &draft_cache;
    } else if (cache->size() == target_layers) {
      draft_cache = options.draft_model->make_cache();
    } else {
      throw InvalidInput("generate", "a prompt cache for speculative decoding holds the model's " +
                                         std::to_string(target_layers) +
                                         " layers, optionally followed by the draft's " +
                                         std::to_string(draft_layers) + "; this one has " +
                                         std::to_string(cache->size()));
    }
    SpeculativeOptions so;
    so.max_tokens = options.step.max_tokens;
    so.num_draft_tokens = options.num_draft_tokens;
    so.prefill_step_size = options.step.prefill_step_size;
    so.kv_bits = options.step.kv_bits;
    so.kv_group_size = options.step.kv_group_size;
    so.quantized_kv_start = options.step.quantized_kv_start;
    speculative = std::make_unique<SpeculativeTokenGenerator>(
        model, *options.draft_model, prompt, *cache, draft_cache, sampler, processors, so);
    source.next = [&]() -> std::optional<StepSource::Step> {
      auto s = speculative->next();
      if (!s) return std::nullopt;
      return StepSource::Step{s->token, s->logprobs, s->from_draft};
    };
    source.commit = [&] { speculative->commit(); };
    source.draft_stats = [&] {
      return std::make_pair(speculative->drafted(), speculative->accepted());
    };
  } else {
    plain =
        std::make_unique<TokenGenerator>(model, prompt, *cache, sampler, processors, options.step);
    source.next = [&]() -> std::optional<StepSource::Step> {
      auto s = plain->next();
      if (!s) return std::nullopt;
      return StepSource::Step{s->token, s->logprobs, false};
    };
    source.commit = [&] { plain->commit(); };
    source.draft_stats = [] { return std::make_pair(int64_t{0}, int64_t{0}); };
  }

  auto detok = tokenizer.make_detokenizer();
  GenerationResponse r;
  r.prompt_tokens = static_cast<int64_t>(prompt.size());
  Timer timer;
  int64_t n = 0;
  bool stopped_by_caller = false;
  while (auto step = source.next()) {
    if (n == 0) {
      double prompt_time = timer.seconds();
      r.prompt_tps = prompt_time > 0 ? static_cast<double>(r.prompt_tokens) / prompt_time : 0;
      timer.reset();
    }
    r.token = step->token;
    r.logprobs = step->logprobs;
    r.from_draft = step->from_draft;
    r.generation_tokens = n + 1;
    double gen_time = timer.seconds();
    r.generation_tps = gen_time > 0 ? static_cast<double>(r.generation_tokens) / gen_time : 0;
    r.peak_memory = static_cast<double>(peak_memory_bytes()) / 1e9;
    std::tie(r.draft_tokens, r.accepted_draft_tokens) = source.draft_stats();

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
  if (cache != &own_cache) source.commit();
  if (stopped_by_caller) return;
  if (r.finish_reason.empty()) r.finish_reason = "length";  // max_tokens == 0
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
