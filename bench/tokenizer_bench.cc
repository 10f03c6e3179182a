// Tokenizer benchmarks: tokenizer.json load time, and single-thread encode throughput (MB/s) on a
// few MB of mixed English, code and multilingual text built deterministically from the golden
// corpus and the chat templates in ../shared. `--dump_text=PATH` writes that text (for the
// tiktoken comparison in bench/tiktoken/) and exits.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include "io/json.h"
#include "tokenizer/tokenizer.h"

namespace {

std::string shared_dir() {
  if (const char* env = std::getenv("MLXLM_SHARED")) return env;
  return (std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "shared")
      .string();
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// xorshift64*: fixed sequence on every platform (std distributions are not portable).
struct Rng {
  uint64_t s = 0x9E3779B97F4A7C15ull;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

// About `target` bytes: half sentences of corpus words in random order, a quarter whole corpus
// lines (many scripts, emoji, numbers), a quarter slices of chat-template source code.
std::string build_text(size_t target) {
  std::vector<std::string> lines, words, code;
  std::ifstream in(shared_dir() + "/golden/tokenizers/texts.jsonl");
  std::string s;
  while (std::getline(in, s)) {
    if (s.empty()) continue;
    auto j = mlxlm::Json::parse(s);
    if (j["cat"] == "special-literal") continue;  // tiktoken refuses special tokens in text
    std::string text = j["text"].get<std::string>();
    lines.push_back(text);
    std::istringstream ws(text);
    std::string w;
    while (ws >> w) words.push_back(w);
  }
  for (const auto& e : std::filesystem::directory_iterator(shared_dir() + "/chat_templates")) {
    if (e.path().extension() == ".jinja") code.push_back(read_file(e.path()));
  }
  if (lines.empty() || code.empty()) {
    std::cerr << "tokenizer_bench: cannot find the corpus under " << shared_dir() << "\n";
    std::exit(1);
  }
  Rng rng;
  std::string out;
  out.reserve(target + 4096);
  while (out.size() < target) {
    size_t kind = rng.below(4);
    if (kind < 2) {
      size_t n = 8 + rng.below(24);
      for (size_t k = 0; k < n; ++k) {
        if (k) out += ' ';
        out += words[rng.below(words.size())];
      }
      out += ".\n";
    } else if (kind == 2) {
      out += lines[rng.below(lines.size())];
      out += '\n';
    } else {
      const std::string& c = code[rng.below(code.size())];
      size_t len = std::min<size_t>(c.size(), 200 + rng.below(1200));
      size_t start = rng.below(c.size() - len + 1);
      while (start > 0 && (static_cast<unsigned char>(c[start]) & 0xC0) == 0x80) --start;
      size_t end = start + len;
      while (end < c.size() && (static_cast<unsigned char>(c[end]) & 0xC0) == 0x80) ++end;
      out.append(c, start, end - start);
      out += '\n';
    }
  }
  return out;
}

const std::string& bench_text() {
  static const std::string text = build_text(4 << 20);
  return text;
}

std::shared_ptr<const mlxlm::Tokenizer> tokenizer(const std::string& name) {
  static std::map<std::string, std::shared_ptr<const mlxlm::Tokenizer>> cache;
  auto& t = cache[name];
  if (!t) t = mlxlm::Tokenizer::load(shared_dir() + "/tokenizers/" + name);
  return t;
}

void BM_Load(benchmark::State& state, const std::string& name) {
  for (auto _ : state) {
    auto t = mlxlm::Tokenizer::load(shared_dir() + "/tokenizers/" + name);
    benchmark::DoNotOptimize(t);
  }
}

void BM_Encode(benchmark::State& state, const std::string& name) {
  auto t = tokenizer(name);
  const std::string& text = bench_text();
  size_t tokens = 0;
  for (auto _ : state) {
    auto ids = t->encode(text, false);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["MB"] = static_cast<double>(text.size()) / 1e6;
}

void BM_Decode(benchmark::State& state, const std::string& name) {
  auto t = tokenizer(name);
  auto ids = t->encode(bench_text(), false);
  for (auto _ : state) {
    auto s = t->decode(ids);
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bench_text().size()));
}

}  // namespace

BENCHMARK_CAPTURE(BM_Load, llama3, std::string("llama3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Load, qwen3, std::string("qwen3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Load, gpt4o, std::string("gpt4o"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Load, gemma3, std::string("gemma3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, llama3, std::string("llama3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, qwen3, std::string("qwen3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Encode, gpt4o, std::string("gpt4o"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Decode, llama3, std::string("llama3"))->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--dump_text=", 12) == 0) {
      std::ofstream(argv[i] + 12, std::ios::binary) << bench_text();
      std::cout << "wrote " << bench_text().size() << " bytes to " << (argv[i] + 12) << "\n";
      return 0;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
