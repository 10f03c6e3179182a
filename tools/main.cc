// `mlxlm` command line: a table of subcommands, one file each (tools/cmd_*.cc).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);
};

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"generate", "generate text from a prompt", mlxlm::cli::run_generate},
      {"convert", "convert / quantize a Hugging Face model to mlx format", mlxlm::cli::run_convert},
      {"bench", "benchmark prompt processing and generation speed", mlxlm::cli::run_bench},
      {"synth", "write a random-weight model of a named shape", mlxlm::cli::run_synth},
      {"tokenize", "encode and decode text with a tokenizer", mlxlm::cli::run_tokenize},
  };
  return table;
}

void print_usage(FILE* out) {
  std::fprintf(out, "usage: mlxlm <command> [options]\n\ncommands:\n");
  for (const auto& c : commands()) std::fprintf(out, "  %-14s %s\n", c.name, c.summary);
  std::fprintf(out, "\nRun 'mlxlm <command> --help' for the options of a command.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    print_usage(stdout);
    return 0;
  }
  if (name == "--version") {
    std::printf("mlxlm 0.1.0\n");
    return 0;
  }
  for (const auto& c : commands()) {
    if (name == c.name) return c.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "mlxlm: unknown command '%s'\n\n", name.c_str());
  print_usage(stderr);
  return 2;
}
