#pragma once
// Helpers shared by the subcommands: default paths, error reporting, flag parsing.
#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>

namespace mlxlm::cli {

// The sample model: $MLXLM_SHARED/models/tinystories-656k, else ../shared beside the repository
// that holds this binary (build/bin/mlxlm), else ../shared beside the working directory.
std::string default_model_dir();

// Runs `body`, turning exceptions into one clear line on stderr and an exit code:
// 1 for bad input or files, 3 for internal errors.
int run_guarded(const char* command, const std::function<int()>& body);

// mlx-lm's str2bool: true/t/yes/y/1 and false/f/no/n/0, case-insensitive.
bool parse_bool(const std::string& s);

// The prompt argument: "-" reads all of stdin; literal \n and \t are unescaped (as mlx-lm).
std::string read_prompt_arg(const std::string& arg);

// Parses the command's flags. Returns the exit status when the command should stop: 0 after
// printing --help, 2 after printing a bad flag's error (argparse's status for usage errors, as
// mlx-lm's commands); nullopt when it should run.
std::optional<int> parse_flags(CLI::App& app, int argc, char** argv);

// A flag check for whole numbers of at least `lo`, whose error names the flag, the value and
// the bound ("--num-draft-tokens: 0 is below 1"); CLI11's own range checks print the bound of
// the type as a 300-digit number.
CLI::Validator at_least(long long lo);

// A flag check for seeds: whole numbers from 0 to 2^64 - 1. CLI11 alone reads "-1" as
// 2^64 - 1 and saturates numbers past the top, so different seeds would give the same text.
CLI::Validator seed_value();

// The thread count flag every command that runs a model takes (`flags`: "-t,--threads" or
// "--threads"); 0, the default, sizes the pool to the cores this process may run on.
void add_threads_option(CLI::App& app, const std::string& flags, int& threads);
// Sizes the thread pool to `threads` (0: leave the default), warning on stderr, named after
// `command`, when that is more than the cores this process may run on.
void apply_threads(const char* command, int threads);

}  // namespace mlxlm::cli
