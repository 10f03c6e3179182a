// mlxlm cache-prompt: prefill a prompt once and save its KV cache (mlx_lm.cache_prompt, spec 1.3)
// for generate --prompt-cache-file, the server or mlx-lm itself.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <vector>

#include "base/error.h"
#include "base/memory.h"
#include "base/timer.h"
#include "cache/kv_quantize.h"
#include "cli_common.h"
#include "commands.h"
#include "engine/loaded_model.h"
#include "engine/prompt_cache_store.h"
#include "mlxlm/prefill.h"
#include "models/make_prompt_cache.h"
#include "progress_bar.h"

namespace mlxlm::cli {
namespace {

struct CachePromptArgs {
  int threads = 0;
  std::string model;
  std::string prompt;
  std::string prompt_cache_file;
  std::string eos_token;
  std::string draft_model;
  std::optional<int64_t> max_kv_size;
  std::optional<int> kv_bits;
  int kv_group_size = 64;
  int64_t quantized_kv_start = 5000;
  int prefill_step_size = 2048;
};

// Prefills `ids` into `cache`, showing progress labelled `label`: a bar on a terminal,
// otherwise one line per chunk, so logs show progress too.
void prefill_with_progress(const Model& model, const std::vector<int32_t>& ids, PromptCache& cache,
                           const PrefillOptions& opts, const char* label) {
  ProgressBar bar(label, "tok/s");
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  Timer timer;
  PrefillStats stats = prefill(model, ids, cache, opts, [&](int64_t done, int64_t total) {
    if (tty) {
      bar.update(done, total);
    } else if (done > 0) {
      const double s = timer.seconds();
      std::fprintf(stderr, "%s %6lld/%lld tokens (%.2f tok/s)\n", label,
                   static_cast<long long>(done), static_cast<long long>(total),
                   s > 0 ? static_cast<double>(done) / s : 0.0);
    }
  });
  bar.finish();
  std::fprintf(stderr, "%s %lld tokens (%.2f tok/s)\n", label, static_cast<long long>(stats.tokens),
               stats.tokens_per_second);
}

int cache_prompt_main(const CachePromptArgs& a) {
  LoadedModel m = load_model_and_tokenizer(a.model);
  const std::string tokenizer_config = tokenizer_config_text(m, a.eos_token);
  const std::vector<int32_t> ids = encode_prompt(*m.tokenizer, read_prompt_arg(a.prompt));

  std::optional<LoadedModel> draft;
  if (!a.draft_model.empty()) draft = load_draft_model(a.draft_model, m);

  PromptCache cache = make_prompt_cache(*m.model, a.max_kv_size.value_or(0));
  PrefillOptions opts;
  opts.prefill_step_size = a.prefill_step_size;
  opts.kv_bits = a.kv_bits.value_or(0);
  opts.kv_group_size = a.kv_group_size;
  opts.quantized_kv_start = a.quantized_kv_start;

  prefill_with_progress(*m.model, ids, cache, opts, "Processed");
  if (draft) {
    // mlx-lm's layout for speculative decoding: the model's layers, then the draft's.
    PromptCache draft_cache = make_prompt_cache(*draft->model, 0);
    prefill_with_progress(*draft->model, ids, draft_cache, opts, "Draft processed");
    for (auto& layer : draft_cache) cache.push_back(std::move(layer));
  }
  std::fprintf(stderr, "Peak memory: %.3f GB\n", static_cast<double>(peak_memory_bytes()) / 1e9);

  const std::string written =
      save_model_prompt_cache(a.prompt_cache_file, cache, m, a.model, tokenizer_config,
                              DraftPart{draft ? &*draft : nullptr, a.draft_model});
  std::fprintf(stderr, "Saved prompt cache to %s (%.3f MB)\n", written.c_str(),
               static_cast<double>(prompt_cache_nbytes(cache)) / 1e6);
  return 0;
}

}  // namespace

int run_cache_prompt(int argc, char** argv) {
  CachePromptArgs a;
  a.model = default_model_dir();
  CLI::App app{"Prefill a prompt and save its KV cache for later generate --prompt-cache-file.",
               "mlxlm cache-prompt"};
  app.add_option("--model", a.model, "Model folder or org/name in the Hugging Face cache")
      ->capture_default_str();
  app.add_option("--prompt", a.prompt, "Prompt to cache; '-' reads stdin")->required();
  app.add_option("--prompt-cache-file", a.prompt_cache_file,
                 "File to write (.safetensors is appended when missing)")
      ->required();
  app.add_option("--eos-token", a.eos_token, "EOS token stored in the tokenizer configuration");
  auto* draft_option = app.add_option(
      "--draft-model", a.draft_model,
      "Also cache the prompt in this draft model's layers, after the model's, for generate "
      "--draft-model (same vocabulary as --model)");
  // Speculative decoding rewinds its caches, which a full rotating cache cannot do.
  app.add_option("--max-kv-size", a.max_kv_size,
                 "Keep at most this many tokens per layer (first 4 always kept)")
      ->check(at_least(1))
      ->excludes(draft_option);
  app.add_option("--kv-bits", a.kv_bits, "Bits for KV-cache quantization (default: none)")
      ->check(CLI::IsMember(kKvBits));
  app.add_option("--kv-group-size", a.kv_group_size, "Group size for KV-cache quantization")
      ->capture_default_str()
      ->check(CLI::IsMember(kKvGroupSizes));
  app.add_option("--quantized-kv-start", a.quantized_kv_start,
                 "Quantize the KV cache once it holds this many tokens")
      ->capture_default_str();
  app.add_option("--prefill-step-size", a.prefill_step_size, "Prompt tokens per forward pass")
      ->capture_default_str()
      ->check(at_least(1));
  add_threads_option(app, "--threads", a.threads);
  if (auto status = parse_flags(app, argc, argv)) return *status;
  return run_guarded("cache-prompt", [&] {
    apply_threads("cache-prompt", a.threads);
    return cache_prompt_main(a);
  });
}

}  // namespace mlxlm::cli
