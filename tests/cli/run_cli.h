#pragma once
// Runs the mlxlm binary in a shell and captures what it prints.
#include <string>

namespace mlxlm::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// `args` is appended to the binary path as shell text (quote it yourself); `stdin_text` is piped
// in.
CliResult run_mlxlm(const std::string& args, const std::string& stdin_text = "");

}  // namespace mlxlm::testing
