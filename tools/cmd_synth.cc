// `mlxlm synth`: writes a random-weight model of a named shape (for benchmarks and tests).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "base/timer.h"
#include "cli_common.h"
#include "commands.h"
#include "models/synthetic.h"

namespace mlxlm::cli {

int run_synth(int argc, char** argv) {
  CLI::App app{"Write a random-weight model (HF layout, bf16) of a named shape", "mlxlm synth"};
  std::string shape, out, tokenizer;
  uint64_t seed = 0;
  std::string names;
  for (const auto& n : synthetic_shape_names()) names += (names.empty() ? "" : "|") + n;
  app.add_option("--shape", shape, "model shape: " + names)->required();
  app.add_option("--out", out, "output folder (must not exist)")->required();
  app.add_option("--seed", seed, "random seed (same seed, same weights)")->check(seed_value());
  app.add_option("--tokenizer", tokenizer, "folder whose tokenizer files are copied");
  if (auto status = parse_flags(app, argc, argv)) return *status;
  return run_guarded("synth", [&] {
    Timer timer;
    SynthOptions options;
    options.seed = seed;
    options.tokenizer_dir = tokenizer;
    write_synthetic_model(synthetic_shape(shape), out, options);
    std::printf("wrote %s (%s, seed %llu) in %.1f s\n", out.c_str(), shape.c_str(),
                static_cast<unsigned long long>(seed), timer.seconds());
    return 0;
  });
}

}  // namespace mlxlm::cli
