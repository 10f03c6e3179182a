// `mlxlm bench`: prompt-processing and generation speed on random prompt tokens, reported as
// mlx-lm's benchmark does (prompt_tps, generation_tps, peak_memory in GB).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <optional>
#include <random>
#include <vector>

#include "base/error.h"
#include "base/memory.h"
#include "base/thread_pool.h"
#include "base/timer.h"
#include "cli_common.h"
#include "commands.h"
#include "decode_floor.h"
#include "kernels/simd_targets.h"
#include "mlxlm/batch.h"
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
  while (!generator.done()) generator.next();
  const BatchStats stats = generator.stats();
  return {stats.prompt_tps, stats.generation_tps, total.seconds()};
}

}  // namespace

int run_bench(int argc, char** argv) {
  CLI::App app{"Benchmark prompt processing and generation on random tokens", "mlxlm bench"};
  std::string model_dir;
  int prompt_tokens = 512, gen_tokens = 1024, batch = 1, trials = 5, threads = 0;
  unsigned seed = 0;
  app.add_option("--model", model_dir, "model folder")->required();
  app.add_option("-p,--prompt-tokens", prompt_tokens, "prompt length")->check(at_least(1));
  app.add_option("-g,--generation-tokens", gen_tokens, "tokens to generate")->check(at_least(0));
  app.add_option("-b,--batch-size", batch, "batch size")->check(at_least(1));
  app.add_option("-n,--num-trials", trials, "timed trials after one warm-up")->check(at_least(1));
  add_threads_option(app, "-t,--threads", threads);
  app.add_option("--seed", seed, "seed of the random prompts")->check(seed_value());
  int prefill_step_size = 2048;
  app.add_option("--prefill-step-size", prefill_step_size,
                 "prompt tokens per forward pass when batching")
      ->check(at_least(1));
  bool floor = false;
  app.add_flag("--floor", floor,
               "after each decoding step, time a read of the weights it read, and report "
               "generation as a share of that bandwidth floor (one sequence only)");
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
      return batch == 1
                 ? run_trial(*model, prompt, gen_tokens, decode_floor ? &*decode_floor : nullptr)
                 : run_batch_trial(*model, prompts, gen_tokens, prefill_step_size);
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
      Trial t = trial();
      const double peak = static_cast<double>(peak_memory_bytes()) / 1e9;
      std::printf(
          "Trial %d:  prompt_tps=%.3f, generation_tps=%.3f, peak_memory=%.3f, "
          "total_time=%.3f\n",
          i + 1, t.prompt_tps, t.generation_tps, peak, t.total_time);
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
    }
    if (floor)
      std::printf("Floor: of_floor=%.1f%% (mean of the trials)\n", 100 * share_sum / trials);
    std::printf("Averages: prompt_tps=%.3f, generation_tps=%.3f, peak_memory=%.3f\n",
                sum.prompt_tps / trials, sum.generation_tps / trials,
                static_cast<double>(peak_memory_bytes()) / 1e9);
    return 0;
  });
}

}  // namespace mlxlm::cli
