#include "testing/shared_data.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "base/env.h"

namespace mlxlm::testing {

std::string shared_path(const std::string& relative) {
  std::string root = shared_dir(MLXLM_DEFAULT_SHARED);
  if (!std::filesystem::is_directory(root)) {
    ADD_FAILURE() << "shared data folder not found: " << root << " (set MLXLM_SHARED)";
    throw std::runtime_error("shared data missing: " + root);
  }
  std::string path = relative.empty() ? root : root + "/" + relative;
  if (!std::filesystem::exists(path)) {
    ADD_FAILURE() << "shared data file not found: " << path;
    throw std::runtime_error("shared data missing: " + path);
  }
  return path;
}

std::string tinystories_dir() { return shared_path("models/tinystories-656k"); }

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "mlxlm-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace mlxlm::testing
