#pragma once
// A one-line progress bar on stderr for long work (prompt prefill, conversion). Draws only when
// stderr is a terminal, at most ten times a second, and always clears its line when done.
#include <cstdint>
#include <string>

#include "base/timer.h"

namespace mlxlm::cli {

class ProgressBar {
 public:
  // `label` precedes the bar ("Prefill"); `unit` follows the rate ("tok/s").
  ProgressBar(std::string label, std::string unit);
  ~ProgressBar();
  void update(int64_t done, int64_t total);
  void finish();

 private:
  std::string label_;
  std::string unit_;
  bool enabled_;
  bool drawn_ = false;
  Timer timer_;
  double last_draw_ = -1;
};

}  // namespace mlxlm::cli
