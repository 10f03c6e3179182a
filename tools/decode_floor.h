#pragma once
// The bandwidth floor of one-sequence decoding (`mlxlm bench --floor`). A decoding step reads
// every weight once plus the cached keys and values, so at best it takes those bytes over the
// read bandwidth. The bandwidth is measured on the weights themselves (the same bytes, pages,
// order and threads), right after each step: on a shared machine it moves by a quarter within
// seconds, so each step is compared with the read beside it, and the medians are reported.
#include <cstdint>
#include <vector>

#include "kernels/weight.h"
#include "models/model.h"

namespace mlxlm::cli {

class DecodeFloor {
 public:
  explicit DecodeFloor(const Model& model);

  // Reads the weights once, timed, and records it beside a step that attended to `context`
  // positions and took `step_seconds`.
  void read_after_step(double step_seconds, int64_t context);

  struct Summary {
    int steps = 0;
    double bandwidth = 0;   // bytes/s, median of the reads
    double step_bytes = 0;  // mean over the steps
    double floor_tps = 0;   // median over the steps of bandwidth / step bytes
    double share = 0;       // median over the steps of floor time / step time
  };
  // Over the steps recorded since the last summary, which it forgets.
  Summary take_summary();

 private:
  std::vector<kernels::WeightRef> weights_;
  double weight_bytes_ = 0;
  double kv_bytes_per_token_ = 0;
  struct Step {
    double read_seconds, bytes, step_seconds;
  };
  std::vector<Step> steps_;
  uint64_t sink_ = 0;  // keeps the reads' results alive
};

}  // namespace mlxlm::cli
