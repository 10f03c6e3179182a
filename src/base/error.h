#pragma once
// Errors are exceptions whose message starts with "[component]" and says what is wrong and where.
#include <stdexcept>
#include <string>
#include <utility>

namespace mlxlm {

class Error : public std::runtime_error {
 public:
  Error(std::string component, const std::string& message)
      : std::runtime_error("[" + component + "] " + message), component_(std::move(component)) {}
  const std::string& component() const { return component_; }

 private:
  std::string component_;
};

// Bad input from a user or a file: the CLI maps it to exit code 2, the server to HTTP 400.
class InvalidInput : public Error {
 public:
  using Error::Error;
};

// A file or directory that is missing or unreadable.
class FileError : public Error {
 public:
  using Error::Error;
};

// Concatenates its arguments with operator<< into a string; handy for error messages.
template <typename... Args>
std::string str_cat(const Args&... args);

}  // namespace mlxlm

#include <sstream>
namespace mlxlm {
template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace mlxlm

// MLXLM_CHECK guards internal invariants (programming errors), not user input.
#define MLXLM_CHECK(cond, component, ...)                                                         \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      throw ::mlxlm::Error(component,                                                             \
                           ::mlxlm::str_cat("internal check failed: " #cond " ", ##__VA_ARGS__)); \
    }                                                                                             \
  } while (0)
