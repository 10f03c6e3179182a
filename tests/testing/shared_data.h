#pragma once
// Test helpers: where ../shared lives, and scratch directories that clean up after themselves.
#include <string>

namespace mlxlm::testing {

// $MLXLM_SHARED or the configured default. Fails the calling test loudly when missing.
std::string shared_path(const std::string& relative = "");

// The sample model folder, ../shared/models/tinystories-656k.
std::string tinystories_dir();

// A fresh empty directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace mlxlm::testing
