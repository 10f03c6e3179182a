#include "run_cli.h"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "testing/shared_data.h"

namespace mlxlm::testing {

CliResult run_mlxlm(const std::string& args, const std::string& stdin_text) {
  TempDir dir;
  std::ofstream(dir.file("in")) << stdin_text;
  // Appended piece by piece: g++ 12 at -O1 takes a chain of operator+ on a string literal for an
  // out-of-bounds copy (a false -Warray-bounds).
  std::string cmd = MLXLM_BIN;
  for (const std::string& piece : {std::string(" "), args, " <" + dir.file("in"),
                                   " >" + dir.file("out"), " 2>" + dir.file("err")}) {
    cmd += piece;
  }
  int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(dir.file("out"));
  r.err = slurp(dir.file("err"));
  return r;
}

}  // namespace mlxlm::testing
