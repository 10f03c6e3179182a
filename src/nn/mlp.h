#pragma once
// The gated feed-forward block of Llama-style models: down(silu(gate(x)) * up(x)).
#include "nn/linear.h"

namespace mlxlm {

class GatedMLP {
 public:
  GatedMLP(Linear gate, Linear up, Linear down);
  // x [rows, hidden] -> out [rows, hidden]. `out` may be `x`: each chunk of rows is read in full
  // before its output rows are written.
  void forward(const float* x, int64_t rows, float* out) const;

 private:
  Linear gate_, up_, down_;
};

}  // namespace mlxlm
