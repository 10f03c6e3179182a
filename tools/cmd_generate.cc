#include <cstdio>

#include "commands.h"

namespace mlxlm::cli {
int run_generate(int, char**) {
  std::fprintf(stderr, "mlxlm generate: not built yet\n");
  return 1;
}
}  // namespace mlxlm::cli
