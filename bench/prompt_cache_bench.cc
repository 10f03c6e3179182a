// Prompt caches: save and load speed of a 2k-token cache (GB/s), and time to first token with a
// cached 2k-token prefix versus prefilling it. Results: docs/benchmarks.md, "Prompt caches".
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "base/mapped_file.h"
#include "cache/kv_cache.h"
#include "cache/prompt_cache_file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "mlxlm/generate.h"
#include "mlxlm/prefill.h"
#include "models/make_prompt_cache.h"
#include "models/registry.h"

namespace mlxlm {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kPrefix = 2048;
constexpr int64_t kSuffix = 16;

std::string scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("mlxlm_prompt_cache_bench_" + name);
  fs::create_directories(p);
  return p.string();
}

// A cache shaped like Llama-3.2-1B's (16 layers, 8 kv heads of dim 64) holding kPrefix tokens.
PromptCache llama_1b_cache() {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  PromptCache cache;
  for (int l = 0; l < 16; ++l) {
    Tensor k(DType::F32, {1, 8, kPrefix, 64}), v(DType::F32, {1, 8, kPrefix, 64});
    for (float& x : k.span<float>()) x = normal(rng);
    for (float& x : v.span<float>()) x = normal(rng);
    auto c = std::make_unique<KVCache>();
    c->update_and_fetch(k, v);
    cache.push_back(std::move(c));
  }
  return cache;
}

size_t file_bytes(const std::string& path) { return fs::file_size(path); }

void BM_SavePromptCache(benchmark::State& state) {
  const auto dtype = static_cast<DType>(state.range(0));
  static PromptCache cache = llama_1b_cache();
  const std::string path = scratch("save") + "/cache.safetensors";
  for (auto _ : state) save_prompt_cache(path, cache, {{"model", "bench"}}, dtype);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * file_bytes(path)));
  state.SetLabel(std::string(dtype_name(dtype)) + ", " + std::to_string(file_bytes(path) >> 20) +
                 " MiB file");
}
BENCHMARK(BM_SavePromptCache)
    ->Arg(static_cast<int>(DType::F32))
    ->Arg(static_cast<int>(DType::BF16))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_LoadPromptCache(benchmark::State& state) {
  const auto dtype = static_cast<DType>(state.range(0));
  const std::string path = scratch("load") + "/cache.safetensors";
  save_prompt_cache(path, llama_1b_cache(), {{"model", "bench"}}, dtype);
  for (auto _ : state) {
    LoadedPromptCache loaded = load_prompt_cache(path);
    benchmark::DoNotOptimize(loaded.cache.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * file_bytes(path)));
  state.SetLabel(std::string(dtype_name(dtype)) + ", " + std::to_string(file_bytes(path) >> 20) +
                 " MiB file");
}
BENCHMARK(BM_LoadPromptCache)
    ->Arg(static_cast<int>(DType::F32))
    ->Arg(static_cast<int>(DType::BF16))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// A random-weight Llama: hidden 512, 8 layers, 8 query / 4 kv heads of dim 64, ffn 1408, vocab
// 8192 (28M parameters, f32).
std::string bench_model() {
  const std::string dir = scratch("model");
  if (fs::exists(dir + "/config.json")) return dir;
  const int hidden = 512, layers = 8, heads = 8, kv_heads = 4, ffn = 1408, vocab = 8192;
  const int hd = hidden / heads;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<Tensor> storage;
  std::vector<NamedTensor> named;
  storage.reserve(16 * layers + 4);
  auto add = [&](const std::string& name, Shape shape, bool ones = false) {
    Tensor t(DType::F32, std::move(shape));
    for (float& v : t.span<float>()) v = ones ? 1.0f : normal(rng);
    storage.push_back(std::move(t));
    named.push_back({name, storage.back().view()});
  };
  add("model.embed_tokens.weight", {vocab, hidden});
  add("model.norm.weight", {hidden}, true);
  for (int i = 0; i < layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i);
    add(p + ".input_layernorm.weight", {hidden}, true);
    add(p + ".post_attention_layernorm.weight", {hidden}, true);
    add(p + ".self_attn.q_proj.weight", {heads * hd, hidden});
    add(p + ".self_attn.k_proj.weight", {kv_heads * hd, hidden});
    add(p + ".self_attn.v_proj.weight", {kv_heads * hd, hidden});
    add(p + ".self_attn.o_proj.weight", {hidden, heads * hd});
    add(p + ".mlp.gate_proj.weight", {ffn, hidden});
    add(p + ".mlp.up_proj.weight", {ffn, hidden});
    add(p + ".mlp.down_proj.weight", {hidden, ffn});
  }
  save_safetensors(dir + "/model.safetensors", named, {{"format", "pt"}});
  Json config = {{"model_type", "llama"},        {"hidden_size", hidden},
                 {"num_hidden_layers", layers},   {"num_attention_heads", heads},
                 {"num_key_value_heads", kv_heads}, {"intermediate_size", ffn},
                 {"vocab_size", vocab},           {"tie_word_embeddings", true},
                 {"rms_norm_eps", 1e-5},          {"rope_theta", 10000.0},
                 {"max_position_embeddings", 4096}};
  write_file_atomic(dir + "/config.json", config.dump(2));
  return dir;
}

std::vector<int32_t> prompt_tokens() {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> tok(3, 8191);
  std::vector<int32_t> ids(kPrefix + kSuffix);
  for (auto& t : ids) t = tok(rng);
  return ids;
}

int32_t first_token(const Model& model, std::span<const int32_t> prompt, PromptCache& cache) {
  Sampler greedy;
  GenerateStepOptions o;
  o.max_tokens = 1;
  TokenGenerator gen(model, prompt, cache, greedy, {}, o);
  return gen.next()->token;
}

// Time to first token for a 2064-token prompt, all of it prefilled.
void BM_TimeToFirstToken_NoCache(benchmark::State& state) {
  auto model = load_model(bench_model());
  const auto ids = prompt_tokens();
  for (auto _ : state) {
    PromptCache cache = make_prompt_cache(*model);
    benchmark::DoNotOptimize(first_token(*model, ids, cache));
  }
}
BENCHMARK(BM_TimeToFirstToken_NoCache)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

// The same prompt with its first 2048 tokens in a prompt-cache file: load it, run the 16-token
// suffix, sample.
void BM_TimeToFirstToken_CachedPrefix(benchmark::State& state) {
  auto model = load_model(bench_model());
  const auto ids = prompt_tokens();
  const std::string path = scratch("ttft") + "/prefix.safetensors";
  {
    PromptCache cache = make_prompt_cache(*model);
    prefill(*model, std::span(ids).first(kPrefix), cache);
    save_prompt_cache(path, cache, {{"model", "bench"}}, model->info().dtype);
  }
  for (auto _ : state) {
    LoadedPromptCache loaded = load_prompt_cache(path);
    benchmark::DoNotOptimize(first_token(*model, std::span(ids).subspan(kPrefix), loaded.cache));
  }
  state.SetLabel(std::to_string(fs::file_size(path) >> 20) + " MiB cache file");
}
BENCHMARK(BM_TimeToFirstToken_CachedPrefix)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace mlxlm

BENCHMARK_MAIN();
