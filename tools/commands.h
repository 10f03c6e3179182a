#pragma once
// Entry points of the subcommands; each gets argv with the subcommand name as argv[0].
namespace mlxlm::cli {

int run_generate(int argc, char** argv);
int run_bench(int argc, char** argv);
int run_convert(int argc, char** argv);
int run_synth(int argc, char** argv);
int run_tokenize(int argc, char** argv);

}  // namespace mlxlm::cli
