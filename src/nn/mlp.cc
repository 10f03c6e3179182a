#include "nn/mlp.h"

#include <vector>

#include "base/error.h"
#include "kernels/ops.h"

namespace mlxlm {

GatedMLP::GatedMLP(Linear gate, Linear up, Linear down)
    : gate_(std::move(gate)), up_(std::move(up)), down_(std::move(down)) {
  if (gate_.out_features() != up_.out_features() || down_.in_features() != up_.out_features()) {
    throw InvalidInput("nn", "MLP projections disagree on intermediate size");
  }
}

void GatedMLP::forward(const float* x, int64_t rows, float* out) const {
  const int64_t inter = up_.out_features();
  std::vector<float> g(rows * inter), u(rows * inter);
  forward_group(x, rows, {{&gate_, g.data()}, {&up_, u.data()}});
  kernels::silu_mul(g.data(), u.data(), rows * inter, g.data());
  down_.forward(g.data(), rows, out);
}

}  // namespace mlxlm
