#include "nn/mlp.h"

#include <vector>

#include "base/error.h"
#include "kernels/ops.h"
#include "nn/scratch.h"

namespace mlxlm {

GatedMLP::GatedMLP(Linear gate, Linear up, Linear down)
    : gate_(std::move(gate)), up_(std::move(up)), down_(std::move(down)) {
  if (gate_.out_features() != up_.out_features() || down_.in_features() != up_.out_features()) {
    throw InvalidInput("nn", "MLP projections disagree on intermediate size");
  }
}

void GatedMLP::forward(const float* x, int64_t rows, float* out) const {
  const int64_t inter = up_.out_features();
  float* g = scratch(ScratchSlot::MlpGate, rows * inter);
  float* u = scratch(ScratchSlot::MlpUp, rows * inter);
  forward_group(x, rows, {{&gate_, g}, {&up_, u}});
  kernels::silu_mul(g, u, rows * inter, g);
  down_.forward(g, rows, out);
}

}  // namespace mlxlm
