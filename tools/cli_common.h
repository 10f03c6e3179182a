#pragma once
// Helpers shared by the subcommands: default paths, error reporting, flag parsing.
#include <functional>
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

}  // namespace mlxlm::cli
