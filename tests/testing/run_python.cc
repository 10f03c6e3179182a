#include "testing/run_python.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace mlxlm::testing {

std::string run_python(const std::string& script, const std::vector<std::string>& args) {
  std::string cmd = "python3 '" + script + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    ADD_FAILURE() << "could not run " << cmd;
    return "";
  }
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << cmd << "\n" << out;
  return out;
}

}  // namespace mlxlm::testing
