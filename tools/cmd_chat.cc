// mlxlm chat: mlx_lm.chat's REPL (spec 1.2). The conversation lives in one prompt cache: each turn
// renders only the new user message, so earlier turns are never processed again.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "base/error.h"
#include "cli_common.h"
#include "commands.h"
#include "engine/chat_prompt.h"
#include "engine/loaded_model.h"
#include "mlxlm/generate.h"
#include "models/make_prompt_cache.h"

namespace mlxlm::cli {
namespace {

struct ChatArgs {
  int threads = 0;
  std::string model;
  float temp = 0.0f;
  float top_p = 1.0f;
  float xtc_probability = 0.0f;
  float xtc_threshold = 0.1f;
  uint64_t seed = 0;
  int64_t max_kv_size = 0;
  int max_tokens = 256;
  std::string system_prompt;
  bool verbose = false;
  std::string draft_model;
  int num_draft_tokens = 3;
};

void print_help() {
  std::printf(
      "The command list:\n- 'q' to exit\n- 'r' to reset the chat\n- 'h' to display these commands\n"
      "- 's' to show or hide generation statistics\n");
}

int chat_main(const ChatArgs& a) {
  LoadedModel m = load_model_and_tokenizer(a.model);
  if (!has_chat_template(m)) {
    throw InvalidInput(
        "chat", m.path + " has no chat template; use 'mlxlm generate' for plain text models");
  }
  GenerationOptions opts;
  opts.step.max_tokens = a.max_tokens;
  opts.sampler.temp = a.temp;
  opts.sampler.top_p = a.top_p;
  opts.sampler.xtc_probability = a.xtc_probability;
  opts.sampler.xtc_threshold = a.xtc_threshold;
  opts.sampler.xtc_special_tokens = m.tokenizer->encode("\n", false);
  opts.sampler.xtc_special_tokens.insert(opts.sampler.xtc_special_tokens.end(),
                                         m.eos_token_ids.begin(), m.eos_token_ids.end());
  opts.eos_token_ids = m.eos_token_ids;
  uint64_t turn_seed = a.seed;
  std::optional<LoadedModel> draft;
  if (!a.draft_model.empty()) {
    draft = load_draft_model(a.draft_model, m);
    opts.draft_model = draft->model.get();
    opts.num_draft_tokens = a.num_draft_tokens;
  }
  // The conversation's cache; with a draft, its layers follow the model's (mlx-lm's layout), so
  // that the draft keeps the conversation too.
  auto new_cache = [&] {
    PromptCache cache = make_prompt_cache(*m.model, a.max_kv_size);
    if (draft) {
      for (auto& layer : make_prompt_cache(*draft->model, 0)) cache.push_back(std::move(layer));
    }
    return cache;
  };

  bool stats = a.verbose;
  std::printf("[INFO] Starting chat session with %s.\n", m.path.c_str());
  print_help();
  PromptCache cache = new_cache();
  bool first_turn = true;
  std::string query;
  while (true) {
    std::printf(">> ");
    std::fflush(stdout);
    if (!std::getline(std::cin, query) || query == "q") break;
    if (query == "r") {
      cache = new_cache();
      first_turn = true;
      continue;
    }
    if (query == "h") {
      print_help();
      continue;
    }
    if (query == "s") {
      stats = !stats;
      std::printf("[INFO] statistics %s\n", stats ? "on" : "off");
      continue;
    }
    ChatPromptOptions chat;
    // The system message is already in the cache after the first turn (mlx-lm re-sends it).
    if (first_turn) chat.system_prompt = a.system_prompt;
    std::vector<int32_t> ids = build_prompt_tokens(m, query, chat);
    opts.sampler.seed = turn_seed++;
    GenerationResponse last;
    stream_generate(*m.model, *m.tokenizer, ids, opts, &cache, [&](const GenerationResponse& r) {
      std::fwrite(r.text.data(), 1, r.text.size(), stdout);
      std::fflush(stdout);
      last = r;
      last.logprobs = {};
      return true;
    });
    std::printf("\n");
    if (stats) {
      std::string drafts;
      if (draft) {
        drafts = " | Draft acceptance: " + std::to_string(last.accepted_draft_tokens) + " of " +
                 std::to_string(last.draft_tokens);
      }
      std::printf(
          "[Prompt: %lld tokens, %.3f tokens-per-sec | Generation: %lld tokens, %.3f "
          "tokens-per-sec | "
          "Cache: %lld tokens%s | Peak memory: %.3f GB]\n",
          static_cast<long long>(last.prompt_tokens), last.prompt_tps,
          static_cast<long long>(last.generation_tokens), last.generation_tps,
          static_cast<long long>(prompt_cache_length(cache)), drafts.c_str(), last.peak_memory);
    }
    first_turn = false;
  }
  return 0;
}

}  // namespace

int run_chat(int argc, char** argv) {
  ChatArgs a;
  a.model = default_model_dir();
  CLI::App app{"Chat with a model in the terminal. The history lives in the KV cache.",
               "mlxlm chat"};
  app.add_option("--model", a.model, "Model folder or org/name in the Hugging Face cache")
      ->capture_default_str();
  app.add_option("--temp", a.temp, "Sampling temperature (0 = greedy)")->capture_default_str();
  app.add_option("--top-p", a.top_p, "Nucleus sampling")->capture_default_str();
  app.add_option("--xtc-probability", a.xtc_probability, "Probability of applying XTC")
      ->capture_default_str();
  app.add_option("--xtc-threshold", a.xtc_threshold, "XTC threshold")->capture_default_str();
  app.add_option("--seed", a.seed, "Random seed")->capture_default_str()->check(seed_value());
  auto* draft_option =
      app.add_option("--draft-model", a.draft_model,
                     "Draft model for speculative decoding (same vocabulary as --model); it "
                     "keeps the conversation in its own cache");
  app.add_option("--num-draft-tokens", a.num_draft_tokens, "Tokens the draft proposes per round")
      ->capture_default_str()
      ->check(at_least(1))
      ->needs(draft_option);
  // Speculative decoding rewinds its caches, which a full rotating cache cannot do.
  app.add_option("--max-kv-size", a.max_kv_size,
                 "Keep at most this many tokens in the cache (0 = all)")
      ->capture_default_str()
      ->check(at_least(0))
      ->excludes(draft_option);
  app.add_option("-m,--max-tokens", a.max_tokens, "Maximum tokens per answer")
      ->capture_default_str();
  app.add_option("--system-prompt", a.system_prompt, "System message");
  app.add_flag("--verbose", a.verbose, "Show generation statistics after each answer");
  add_threads_option(app, "--threads", a.threads);
  if (auto status = parse_flags(app, argc, argv)) return *status;
  return run_guarded("chat", [&] {
    apply_threads("chat", a.threads);
    return chat_main(a);
  });
}

}  // namespace mlxlm::cli
