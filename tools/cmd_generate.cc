// mlxlm generate: mlx_lm.generate's flags and output (spec 1.1).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>

#include "base/error.h"
#include "cli_common.h"
#include "commands.h"
#include "engine/loaded_model.h"
#include "mlxlm/generate.h"
#include "progress_bar.h"

namespace mlxlm::cli {
namespace {

struct GenerateArgs {
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
};

int generate_main(const GenerateArgs& a) {
  const bool verbose = parse_bool(a.verbose);
  LoadedModel m = load_model_and_tokenizer(a.model);
  for (const auto& t : a.extra_eos_tokens) add_eos_token(m, t);

  std::optional<LoadedModel> draft;
  if (!a.draft_model.empty()) {
    draft = load_model_and_tokenizer(a.draft_model);
    if (draft->model->info().vocab_size != m.model->info().vocab_size) {
      throw InvalidInput("generate", "draft model vocabulary (" +
                                         std::to_string(draft->model->info().vocab_size) +
                                         ") differs from the model's (" +
                                         std::to_string(m.model->info().vocab_size) + ")");
    }
  }

  std::string prompt = read_prompt_arg(a.prompt);
  std::vector<int32_t> ids = encode_prompt(*m.tokenizer, prompt);

  GenerationOptions opts;
  opts.step.max_tokens = a.max_tokens;
  opts.step.prefill_step_size = a.prefill_step_size;
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
  if (verbose) std::printf("==========\n");
  std::string text;
  GenerationResponse last;
  stream_generate(*m.model, *m.tokenizer, ids, opts, nullptr, [&](const GenerationResponse& r) {
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
  app.add_option("--seed", a.seed, "Random seed (same seed, same text)");
  app.add_option("--extra-eos-token", a.extra_eos_tokens, "Extra EOS tokens (token text or id)");
  app.add_flag("--ignore-chat-template", a.ignore_chat_template,
               "Use the raw prompt without the chat template");
  app.add_option("--verbose", a.verbose, "Print framing and statistics (true/false)")
      ->capture_default_str();
  app.add_option("--prefill-step-size", a.prefill_step_size, "Prompt tokens per forward pass")
      ->capture_default_str();
  app.add_option("--draft-model", a.draft_model,
                 "Draft model for speculative decoding (same vocabulary as --model)");
  app.add_option("--num-draft-tokens", a.num_draft_tokens, "Tokens the draft proposes per round")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return run_guarded("generate", [&] { return generate_main(a); });
}

}  // namespace mlxlm::cli
