#include "base/env.h"

#include <cstdlib>

namespace mlxlm {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

std::string shared_dir(const std::string& fallback) { return env_or("MLXLM_SHARED", fallback); }

}  // namespace mlxlm
