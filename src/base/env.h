#pragma once
#include <string>

namespace mlxlm {

// The folder of shared data and sample models: $MLXLM_SHARED, else `fallback`.
std::string shared_dir(const std::string& fallback);

// The value of environment variable `name`, or `fallback` when unset or empty.
std::string env_or(const char* name, const std::string& fallback);

}  // namespace mlxlm
