#pragma once
// Runs an independent Python reference script next to a test and captures its stdout.
#include <string>
#include <vector>

namespace mlxlm::testing {

// python3 `script` with `args` (each single-quoted); the exit status must be 0 (the calling test
// fails otherwise) and stdout is returned.
std::string run_python(const std::string& script, const std::vector<std::string>& args);

}  // namespace mlxlm::testing
