// mlxlm generate: mlx_lm.generate's flags and output (spec 1.1).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>

#include "base/error.h"
#include "cache/kv_quantize.h"
#include "cache/quantized_kv_cache.h"
#include "cache/rotating_kv_cache.h"
#include "cli_common.h"
#include "commands.h"
#include "engine/chat_prompt.h"
#include "engine/loaded_model.h"
#include "engine/prompt_cache_store.h"
#include "io/json.h"
#include "mlxlm/generate.h"
#include "progress_bar.h"

namespace mlxlm::cli {
namespace {

struct GenerateArgs {
  int threads = 0;
  std::string model;
  std::string prompt = "hello";
  int max_tokens = 100;
  float temp = 0.0f;
  float top_p = 1.0f;
  float min_p = 0.0f;
  int top_k = 0;
  float xtc_probability = 0.0f;
  float xtc_threshold = 0.1f;
  int min_tokens_to_keep = 1;
  std::optional<uint64_t> seed;
  std::vector<std::string> extra_eos_tokens;
  bool ignore_chat_template = false;
  std::string verbose = "true";
  int prefill_step_size = 2048;
  std::string draft_model;
  int num_draft_tokens = 3;
  std::string system_prompt;
  std::optional<std::string> prefill_response;
  std::string chat_template_config;
  std::optional<int> kv_bits;
  int kv_group_size = 64;
  int64_t quantized_kv_start = 5000;
  std::optional<int64_t> max_kv_size;
  std::string prompt_cache_file;
  bool model_given = false;
};

// mlx-lm's checks of --prompt-cache-file against the flags; returns the model to load.
std::string check_cache_flags(const GenerateArgs& a, const LoadedPromptCache& loaded) {
  const std::string& file = a.prompt_cache_file;
  if (loaded.cache.empty()) throw InvalidInput("generate", file + " holds no layers");
  if (const auto* q = dynamic_cast<const QuantizedKVCache*>(loaded.cache[0].get())) {
    if (a.kv_bits && *a.kv_bits != q->bits()) {
      throw InvalidInput("generate", "--kv-bits " + std::to_string(*a.kv_bits) +
                                         " does not match the " + std::to_string(q->bits()) +
                                         "-bit kv cache loaded from " + file);
    }
    if (a.kv_group_size != q->group_size()) {
      throw InvalidInput("generate", "--kv-group-size " + std::to_string(a.kv_group_size) +
                                         " does not match the kv cache loaded from " + file +
                                         " (group size " + std::to_string(q->group_size()) + ")");
    }
  }
  if (a.max_kv_size) {
    const auto* r = dynamic_cast<const RotatingKVCache*>(loaded.cache[0].get());
    if (r == nullptr || r->max_size() != *a.max_kv_size) {
      throw InvalidInput("generate", "--max-kv-size " + std::to_string(*a.max_kv_size) +
                                         " cannot change the saved cache in " + file +
                                         " (its first layer is a " + loaded.cache[0]->class_name() +
                                         (r ? " of size " + std::to_string(r->max_size()) : "") +
                                         "); make the cache with cache-prompt --max-kv-size");
    }
  }
  auto it = loaded.metadata.find("model");
  if (!a.model_given) {
    if (it == loaded.metadata.end()) {
      throw InvalidInput("generate", file + " does not record its model; pass --model");
    }
    return it->second;
  }
  if (it != loaded.metadata.end() && it->second != a.model) {
    throw InvalidInput("generate", "Providing a different model (" + a.model +
                                       ") than that used to create the prompt cache (" +
                                       it->second + ") is an error");
  }
  return a.model;
}

// The draft model to load with a saved cache: --draft-model, else the one the file records
// (cache-prompt --draft-model), whose layers it holds; a different --draft-model is an error, as
// a different --model is.
std::string check_draft_flag(const GenerateArgs& a, const LoadedPromptCache& loaded) {
  auto it = loaded.metadata.find(kDraftModelKey);
  if (it == loaded.metadata.end()) return a.draft_model;
  if (!a.draft_model.empty() && a.draft_model != it->second) {
    throw InvalidInput("generate", "Providing a different draft model (" + a.draft_model +
                                       ") than that used to create the prompt cache (" +
                                       it->second + ") is an error");
  }
  return it->second;
}

int generate_main(const GenerateArgs& a) {
  const bool verbose = parse_bool(a.verbose);
  std::optional<LoadedPromptCache> saved;
  std::string model_name = a.model;
  if (!a.prompt_cache_file.empty()) {
    saved = load_prompt_cache(a.prompt_cache_file);
    model_name = check_cache_flags(a, *saved);
  }
  const std::string draft_name = saved ? check_draft_flag(a, *saved) : a.draft_model;
  LoadedModel m = load_model_and_tokenizer(model_name);
  if (saved) {
    // cache-prompt --eos-token is stored in the tokenizer configuration.
    auto tc = saved->metadata.find("tokenizer_config");
    if (tc != saved->metadata.end()) {
      Json config = parse_json(tc->second, a.prompt_cache_file + " tokenizer_config");
      if (config.is_object() && config.contains("eos_token") && config["eos_token"].is_string()) {
        add_eos_token(m, config["eos_token"].get<std::string>());
      }
    }
  }
  for (const auto& t : a.extra_eos_tokens) add_eos_token(m, t);

  std::optional<LoadedModel> draft;
  if (!draft_name.empty()) {
    try {
      draft = load_draft_model(draft_name, m);
    } catch (const Error& e) {
      // A draft named by the file rather than the user: say where it came from.
      if (!a.draft_model.empty()) throw;
      const std::string why =
          "the draft model " + a.prompt_cache_file + " was made with cannot be loaded: " + e.what();
      if (dynamic_cast<const FileError*>(&e) != nullptr) throw FileError("generate", why);
      if (dynamic_cast<const InvalidInput*>(&e) != nullptr) throw InvalidInput("generate", why);
      throw;
    }
  }
  if (saved) {
    check_prompt_cache_fits(*saved, m, draft ? &*draft : nullptr);
    if (draft && !holds_draft_layers(*saved, m)) {
      std::fprintf(stderr,
                   "[WARNING] %s holds no draft-model layers: the draft starts without the cached "
                   "prefix and proposes less well (cache-prompt --draft-model saves them)\n",
                   a.prompt_cache_file.c_str());
    }
  }

  std::string prompt = read_prompt_arg(a.prompt);
  ChatPromptOptions chat;
  chat.system_prompt = a.system_prompt;
  chat.prefill_response = a.prefill_response;
  chat.ignore_chat_template = a.ignore_chat_template;
  if (!a.chat_template_config.empty()) {
    chat.template_kwargs = parse_ordered_json(a.chat_template_config, "--chat-template-config");
    if (!chat.template_kwargs.is_object()) {
      throw InvalidInput("generate", "--chat-template-config must be a JSON object");
    }
  }
  std::vector<int32_t> ids;
  if (saved && !a.ignore_chat_template && has_chat_template(m)) {
    // The cache holds everything before the user's text: encode only the rendered suffix that
    // starts at it (mlx-lm renders again with "<query>" to find where that is).
    std::string full = render_chat_prompt(m, prompt, chat);
    std::string probe = render_chat_prompt(m, "<query>", chat);
    ids = m.tokenizer->encode(full.substr(probe.find("<query>")), false);
  } else if (saved) {
    // No BOS in the middle of the sequence (mlx-lm's plain-text path would add one).
    ids = m.tokenizer->encode(prompt, false);
  } else {
    ids = build_prompt_tokens(m, prompt, chat);
  }

  GenerationOptions opts;
  opts.step.max_tokens = a.max_tokens;
  opts.step.prefill_step_size = a.prefill_step_size;
  opts.step.kv_bits = a.kv_bits.value_or(0);
  opts.step.kv_group_size = a.kv_group_size;
  opts.step.quantized_kv_start = a.quantized_kv_start;
  opts.step.max_kv_size = a.max_kv_size.value_or(0);
  opts.sampler.temp = a.temp;
  opts.sampler.top_p = a.top_p;
  opts.sampler.min_p = a.min_p;
  opts.sampler.min_tokens_to_keep = a.min_tokens_to_keep;
  opts.sampler.top_k = a.top_k;
  opts.sampler.xtc_probability = a.xtc_probability;
  opts.sampler.xtc_threshold = a.xtc_threshold;
  opts.sampler.seed = a.seed;
  // XTC never removes the newline or EOS tokens (as mlx-lm's CLI).
  opts.sampler.xtc_special_tokens = m.tokenizer->encode("\n", false);
  opts.sampler.xtc_special_tokens.insert(opts.sampler.xtc_special_tokens.end(),
                                         m.eos_token_ids.begin(), m.eos_token_ids.end());
  opts.eos_token_ids = m.eos_token_ids;
  if (draft) {
    opts.draft_model = draft->model.get();
    opts.num_draft_tokens = a.num_draft_tokens;
  }

  // Long prompts show their prefill progress on a terminal; the bar clears itself before text.
  ProgressBar bar("Prefill", "tok/s");
  if (static_cast<int64_t>(ids.size()) > a.prefill_step_size) {
    opts.prompt_progress = [&](int64_t done, int64_t total) {
      bar.update(done, total);
      if (done == total) bar.finish();
    };
  }
  // Bad sampling values fail here, before the framing: the error is then all the run prints.
  [[maybe_unused]] const Sampler checked(opts.sampler);
  check_sampler_vocabulary(opts.sampler, m.model->info().vocab_size);
  if (verbose) std::printf("==========\n");
  std::string text;
  GenerationResponse last;
  PromptCache* cache = saved ? &saved->cache : nullptr;
  stream_generate(*m.model, *m.tokenizer, ids, opts, cache, [&](const GenerationResponse& r) {
    if (verbose) {
      std::fwrite(r.text.data(), 1, r.text.size(), stdout);
      std::fflush(stdout);
    }
    text += r.text;
    last = r;
    last.logprobs = {};
    return true;
  });
  if (!verbose) {
    std::printf("%s\n", text.c_str());
    return 0;
  }
  std::printf("\n==========\n");
  if (text.empty()) {
    std::printf("No text generated for this prompt\n");
    return 0;
  }
  std::printf("Prompt: %lld tokens, %.3f tokens-per-sec\n",
              static_cast<long long>(last.prompt_tokens), last.prompt_tps);
  std::printf("Generation: %lld tokens, %.3f tokens-per-sec\n",
              static_cast<long long>(last.generation_tokens), last.generation_tps);
  if (draft && last.draft_tokens > 0) {
    std::printf("Draft acceptance: %lld of %lld draft tokens (%.1f%%)\n",
                static_cast<long long>(last.accepted_draft_tokens),
                static_cast<long long>(last.draft_tokens),
                100.0 * static_cast<double>(last.accepted_draft_tokens) /
                    static_cast<double>(last.draft_tokens));
  }
  std::printf("Peak memory: %.3f GB\n", last.peak_memory);
  return 0;
}

}  // namespace

int run_generate(int argc, char** argv) {
  GenerateArgs a;
  a.model = default_model_dir();
  CLI::App app{"Generate text from a prompt with a local Hugging Face or mlx-community model.",
               "mlxlm generate"};
  app.add_option("--model", a.model, "Model folder or org/name in the Hugging Face cache")
      ->capture_default_str();
  app.add_option("-p,--prompt", a.prompt, "Prompt text; '-' reads stdin")->capture_default_str();
  app.add_option("-m,--max-tokens", a.max_tokens, "Maximum number of tokens to generate")
      ->capture_default_str();
  app.add_option("--temp", a.temp, "Sampling temperature (0 = greedy)")->capture_default_str();
  app.add_option("--top-p", a.top_p, "Nucleus sampling: keep the top tokens of this mass")
      ->capture_default_str();
  app.add_option("--min-p", a.min_p, "Drop tokens below min-p times the best probability")
      ->capture_default_str();
  app.add_option("--top-k", a.top_k, "Keep only the k most likely tokens (0 = off)")
      ->capture_default_str();
  app.add_option("--xtc-probability", a.xtc_probability, "Probability of applying XTC")
      ->capture_default_str();
  app.add_option("--xtc-threshold", a.xtc_threshold, "XTC threshold")->capture_default_str();
  app.add_option("--min-tokens-to-keep", a.min_tokens_to_keep, "Tokens min-p always keeps")
      ->capture_default_str();
  app.add_option("--seed", a.seed, "Random seed (same seed, same text)")->check(seed_value());
  app.add_option("--extra-eos-token", a.extra_eos_tokens, "Extra EOS tokens (token text or id)");
  app.add_flag("--ignore-chat-template", a.ignore_chat_template,
               "Use the raw prompt without the chat template");
  app.add_option("--system-prompt", a.system_prompt, "System message for the chat template");
  app.add_option("--prefill-response", a.prefill_response,
                 "Start the assistant's reply with this text (continues the final message)");
  app.add_option(
      "--chat-template-config", a.chat_template_config,
      "JSON object of extra chat template variables, e.g. '{\"enable_thinking\": false}'");
  app.add_option("--verbose", a.verbose, "Print framing and statistics (true/false)")
      ->capture_default_str();
  app.add_option("--prefill-step-size", a.prefill_step_size, "Prompt tokens per forward pass")
      ->capture_default_str()
      ->check(at_least(1));
  auto* draft_option =
      app.add_option("--draft-model", a.draft_model,
                     "Draft model for speculative decoding (same vocabulary as --model)");
  app.add_option("--num-draft-tokens", a.num_draft_tokens, "Tokens the draft proposes per round")
      ->capture_default_str()
      ->check(at_least(1));
  app.add_option("--kv-bits", a.kv_bits, "Bits for KV-cache quantization (default: none)")
      ->check(CLI::IsMember(kKvBits));
  app.add_option("--kv-group-size", a.kv_group_size, "Group size for KV-cache quantization")
      ->capture_default_str()
      ->check(CLI::IsMember(kKvGroupSizes));
  app.add_option("--quantized-kv-start", a.quantized_kv_start,
                 "Quantize the KV cache once it holds this many tokens")
      ->capture_default_str();
  // Speculative decoding rewinds its caches, which a full rotating cache cannot do (mlx-lm
  // silently drops the bound).
  app.add_option("--max-kv-size", a.max_kv_size,
                 "Keep at most this many tokens per layer (first 4 always kept)")
      ->check(at_least(1))
      ->excludes(draft_option);
  app.add_option(
      "--prompt-cache-file", a.prompt_cache_file,
      "Continue from a prompt cache saved by cache-prompt (model and draft model taken from it)");
  add_threads_option(app, "--threads", a.threads);
  if (auto status = parse_flags(app, argc, argv)) return *status;
  a.model_given = app.count("--model") > 0;
  return run_guarded("generate", [&] {
    apply_threads("generate", a.threads);
    return generate_main(a);
  });
}

}  // namespace mlxlm::cli
