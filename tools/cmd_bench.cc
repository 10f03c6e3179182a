// `mlxlm bench`: prompt-processing and generation speed on random prompt tokens, reported as
// mlx-lm's benchmark does (prompt_tps, generation_tps, peak_memory in GB).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/memory.h"
#include "base/thread_pool.h"
#include "base/timer.h"
#include "cache/kv_cache.h"
#include "cli_common.h"
#include "commands.h"
#include "decode_floor.h"
#include "kernels/simd_targets.h"
#include "mlxlm/batch.h"
#include "mlxlm/speculative.h"
#include "models/registry.h"

namespace mlxlm::cli {
namespace {

int32_t argmax(const Tensor& logits) {
  const float* l = logits.data<float>();
  const int64_t n = logits.dim(-1);
  return static_cast<int32_t>(std::max_element(l, l + n) - l);
}

struct Trial {
  double prompt_tps = 0;
  double generation_tps = 0;
  double total_time = 0;
  int64_t drafted = 0;  // speculative decoding: draft tokens proposed and accepted
  int64_t accepted = 0;
};

// One prompt of `prompt` tokens, then `gen` greedy decoding steps (EOS never stops it). With a
// floor, its read follows each step, outside the step's time.
Trial run_trial(const Model& model, const std::vector<int32_t>& prompt, int gen,
                DecodeFloor* floor) {
  Trial t;
  Timer total;
  PromptCache cache = model.make_cache();
  Timer timer;
  Tensor logits = model.forward(prompt, 1, cache, true);
  int32_t next = argmax(logits);
  const double prompt_time = timer.seconds();
  double gen_time = 0;
  for (int i = 0; i < gen; ++i) {
    timer.reset();
    Tensor step = model.forward(std::span(&next, 1), 1, cache, true);
    next = argmax(step);
    const double step_time = timer.seconds();
    gen_time += step_time;
    if (floor != nullptr) floor->read_after_step(step_time, cache.front()->offset());
  }
  t.prompt_tps = static_cast<double>(prompt.size()) / prompt_time;
  t.generation_tps = gen > 0 ? gen / gen_time : 0.0;
  t.total_time = total.seconds();
  return t;
}

// As run_trial, with speculative decoding: the draft proposes `num_draft` tokens a round and
// the target checks them in one pass (greedy on both, so every token is the target's argmax).
// The prompt time runs to the end of the first round (the prompt's pass gives the first token,
// as in run_trial, and its drafts come with it); the generation time then covers `gen` tokens
// of whole later rounds, so no round's drafts are counted without their cost.
Trial run_speculative_trial(const Model& model, const Model& draft,
                            const std::vector<int32_t>& prompt, int gen, int num_draft) {
  Timer total;
  PromptCache cache = model.make_cache();
  PromptCache draft_cache = draft.make_cache();
  Sampler sampler;
  SpeculativeOptions o;
  o.max_tokens = gen + num_draft + 1;  // the first round's tokens and `gen` more
  o.num_draft_tokens = num_draft;
  o.prefill_step_size = 2048;
  SpeculativeTokenGenerator generator(model, draft, prompt, cache, draft_cache, sampler, {}, o);
  Timer timer;
  // A round ends with the target's own token (the first mismatch, or the bonus token).
  while (auto step = generator.next()) {
    if (!step->from_draft) break;
  }
  const double prompt_time = timer.seconds();
  const int64_t drafted_before = generator.drafted(), accepted_before = generator.accepted();
  timer.reset();
  int produced = 0;
  while (produced < gen && generator.next()) ++produced;
  const double gen_time = timer.seconds();
  Trial t;
  t.prompt_tps = static_cast<double>(prompt.size()) / prompt_time;
  t.generation_tps = produced > 0 ? produced / gen_time : 0.0;
  t.total_time = total.seconds();
  t.drafted = generator.drafted() - drafted_before;
  t.accepted = generator.accepted() - accepted_before;
  return t;
}

// `batch` prompts generated together by the batch generator (mlx-lm's benchmark uses
// batch_generate's statistics when the batch is larger than one).
Trial run_batch_trial(const Model& model, const std::vector<std::vector<int32_t>>& prompts, int gen,
                      int prefill_step_size) {
  Timer total;
  BatchGeneratorOptions o;
  o.max_tokens = gen;
  o.completion_batch_size = static_cast<int>(prompts.size());
  o.prefill_batch_size = static_cast<int>(prompts.size());
  o.prefill_step_size = prefill_step_size;
  o.return_prompt_caches = false;  // as batch_generate's default: not timed for nothing
  BatchGenerator generator(model, o);
  std::vector<BatchRequest> requests;
  for (const auto& p : prompts) requests.push_back({.prompt = p});
  generator.insert(std::move(requests));
  while (!generator.done()) {
    // A failed sequence would leave the others timed as if the batch were smaller.
    for (const auto& r : generator.next().generation) {
      if (r.finish_reason == "error") throw Error("bench", "a sequence failed: " + r.error);
    }
  }
  const BatchStats stats = generator.stats();
  return {stats.prompt_tps, stats.generation_tps, total.seconds()};
}

// Refuses a run whose caches (keys and values of `sequences` x `tokens`, in the caches' steps of
// KVCache::kStep tokens) would not fit in the memory available: the kernel's OOM killer would
// otherwise end it midway, without a word.
void check_caches_fit(const Model& model, const Model* draft, int64_t sequences, int64_t tokens) {
  const uint64_t available = available_memory_bytes();
  if (available == 0) return;
  const int64_t steps = (tokens + KVCache::kStep - 1) / KVCache::kStep;
  double per_token = static_cast<double>(model.info().kv_bytes_per_token);
  if (draft != nullptr) per_token += static_cast<double>(draft->info().kv_bytes_per_token);
  const double need =
      static_cast<double>(sequences) * static_cast<double>(steps * KVCache::kStep) * per_token;
  if (need > static_cast<double>(available)) {
    char text[256];
    std::snprintf(text, sizeof text,
                  "%lld sequence(s) of %lld tokens need about %.1f GB of KV cache, more than the "
                  "%.1f GB of memory available: lower -b, -p or -g",
                  static_cast<long long>(sequences), static_cast<long long>(tokens), need / 1e9,
                  static_cast<double>(available) / 1e9);
    throw InvalidInput("bench", text);
  }
}

}  // namespace

int run_bench(int argc, char** argv) {
  CLI::App app{"Benchmark prompt processing and generation on random tokens", "mlxlm bench"};
  std::string model_dir;
  int prompt_tokens = 512, gen_tokens = 1024, batch = 1, trials = 5, threads = 0;
  unsigned seed = 0;
  app.add_option("--model", model_dir, "model folder")->required();
  app.add_option("-p,--prompt-tokens", prompt_tokens, "prompt length")
      ->capture_default_str()
      ->check(at_least(1));
  app.add_option("-g,--generation-tokens", gen_tokens, "tokens to generate")
      ->capture_default_str()
      ->check(at_least(0));
  auto* batch_option = app.add_option("-b,--batch-size", batch, "batch size")
                           ->capture_default_str()
                           ->check(at_least(1));
  app.add_option("-n,--num-trials", trials, "timed trials after one warm-up")
      ->capture_default_str()
      ->check(at_least(1));
  add_threads_option(app, "-t,--threads", threads);
  app.add_option("--seed", seed, "seed of the random prompts")
      ->capture_default_str()
      ->check(seed_value());
  int prefill_step_size = 2048;
  app.add_option("--prefill-step-size", prefill_step_size,
                 "prompt tokens per forward pass when batching")
      ->capture_default_str()
      ->check(at_least(1));
  double delay = 0;
  app.add_option("--delay", delay, "seconds to wait between trials (lets the machine cool down)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  std::string draft_dir;
  int num_draft = 3;
  auto* draft_option =
      app.add_option("--draft-model", draft_dir,
                     "time speculative decoding with this draft model (greedy, same "
                     "vocabulary) and report its acceptance rate")
          ->excludes(batch_option);
  app.add_option("--num-draft-tokens", num_draft, "tokens the draft proposes per round")
      ->capture_default_str()
      ->check(at_least(1))
      ->needs(draft_option);
  bool floor = false;
  app.add_flag("--floor", floor,
               "after each decoding step, time a read of the weights it read, and report "
               "generation as a share of that bandwidth floor (one sequence only)")
      ->excludes(draft_option);
  if (auto status = parse_flags(app, argc, argv)) return *status;
  return run_guarded("bench", [&] {
    if (floor && batch > 1) {
      throw InvalidInput("bench", "--floor measures one-sequence decoding: leave out -b");
    }
    if (floor && gen_tokens == 0) {
      throw InvalidInput("bench", "--floor measures decoding steps: give -g 1 or more");
    }
    apply_threads("bench", threads);
    Timer load_timer;
    auto model = load_model(model_dir);
    const double load_time = load_timer.seconds();
    std::unique_ptr<Model> draft;
    if (!draft_dir.empty()) {
      draft = load_model(draft_dir);
      check_draft_vocabulary(*model, *draft);
    }
    check_caches_fit(*model, draft.get(), batch,
                     int64_t{prompt_tokens} + gen_tokens + (draft ? num_draft : 0));
    std::printf("model=%s threads=%d simd=%s many_rows=%s load_time=%.3f s\n", model_dir.c_str(),
                ThreadPool::global().num_threads(), kernels::active_simd_target().c_str(),
                kernels::many_rows_path().c_str(), load_time);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int32_t> token(
        0, static_cast<int32_t>(model->info().vocab_size) - 1);
    std::vector<std::vector<int32_t>> prompts(batch, std::vector<int32_t>(prompt_tokens));
    for (auto& p : prompts) {
      for (auto& t : p) t = token(rng);
    }
    const std::vector<int32_t>& prompt = prompts.front();
    std::optional<DecodeFloor> decode_floor;  // made after the warm-up, which it need not read
    auto trial = [&]() {
      if (draft) return run_speculative_trial(*model, *draft, prompt, gen_tokens, num_draft);
      return batch == 1
                 ? run_trial(*model, prompt, gen_tokens, decode_floor ? &*decode_floor : nullptr)
                 : run_batch_trial(*model, prompts, gen_tokens, prefill_step_size);
    };
    // Draft tokens accepted of those proposed, as a percentage and the two counts.
    auto acceptance = [](int64_t accepted, int64_t drafted) {
      char text[96];
      std::snprintf(text, sizeof text, ", acceptance=%.1f%% (%lld of %lld)",
                    drafted > 0 ? 100.0 * static_cast<double>(accepted) / drafted : 0.0,
                    static_cast<long long>(accepted), static_cast<long long>(drafted));
      return std::string(text);
    };
    // The warm-up is one whole trial, as mlx-lm's benchmark runs it (and llama-bench its
    // warm-up run): it pages the weights in and grows the reused buffers to the trial's size, so
    // that the first timed trial does not pay a 512-token prefill's first-touch page faults.
    std::printf("Running warmup..\n");
    trial();
    if (floor) decode_floor.emplace(*model);
    std::printf("Timing with prompt_tokens=%d, generation_tokens=%d, batch_size=%d.\n",
                prompt_tokens, gen_tokens, batch);
    Trial sum;
    double share_sum = 0;
    for (int i = 0; i < trials; ++i) {
      if (delay > 0) std::this_thread::sleep_for(std::chrono::duration<double>(delay));
      Trial t = trial();
      const double peak = static_cast<double>(peak_memory_bytes()) / 1e9;
      std::printf(
          "Trial %d:  prompt_tps=%.3f, generation_tps=%.3f, peak_memory=%.3f, "
          "total_time=%.3f%s\n",
          i + 1, t.prompt_tps, t.generation_tps, peak, t.total_time,
          draft ? acceptance(t.accepted, t.drafted).c_str() : "");
      if (decode_floor) {
        const DecodeFloor::Summary f = decode_floor->take_summary();
        share_sum += f.share;
        std::printf(
            "  floor: read_bandwidth=%.2f GB/s, step_bytes=%.6f GB, floor_tps=%.3f, "
            "of_floor=%.1f%% (medians of %d steps, each beside a read of its weights)\n",
            f.bandwidth / 1e9, f.step_bytes / 1e9, f.floor_tps, 100 * f.share, f.steps);
      }
      std::fflush(stdout);
      sum.prompt_tps += t.prompt_tps;
      sum.generation_tps += t.generation_tps;
      sum.total_time += t.total_time;
      sum.drafted += t.drafted;
      sum.accepted += t.accepted;
    }
    if (floor)
      std::printf("Floor: of_floor=%.1f%% (mean of the trials)\n", 100 * share_sum / trials);
    std::printf("Averages: prompt_tps=%.3f, generation_tps=%.3f, peak_memory=%.3f%s\n",
                sum.prompt_tps / trials, sum.generation_tps / trials,
                static_cast<double>(peak_memory_bytes()) / 1e9,
                draft ? acceptance(sum.accepted, sum.drafted).c_str() : "");
    return 0;
  });
}

}  // namespace mlxlm::cli
