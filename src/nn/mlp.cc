#include "nn/mlp.h"

#include <algorithm>
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

namespace {

// Rows of a long pass go through the MLP a chunk at a time: its two intermediate buffers are
// the largest activations of a prompt (Llama-3.2-1B: 64 KiB a token, over half of all), and a
// whole 2048-token pass would hold 128 MiB of them. A chunk keeps them near 8 MiB each while
// leaving the products enough rows to run at full speed.
int64_t mlp_chunk_rows(int64_t inter) {
  constexpr int64_t kChunkBytes = int64_t{8} << 20;
  return std::max<int64_t>(64, kChunkBytes / (inter * static_cast<int64_t>(sizeof(float))));
}

}  // namespace

void GatedMLP::forward(const float* x, int64_t rows, float* out) const {
  const int64_t inter = up_.out_features();
  const int64_t chunk = std::min(rows, mlp_chunk_rows(inter));
  float* g = scratch(ScratchSlot::MlpGate, chunk * inter);
  float* u = scratch(ScratchSlot::MlpUp, chunk * inter);
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const int64_t n = std::min(chunk, rows - r0);
    forward_group(x + r0 * gate_.in_features(), n, {{&gate_, g}, {&up_, u}});
    kernels::silu_mul(g, u, n * inter, g);
    down_.forward(g, n, out + r0 * down_.out_features());
  }
}

}  // namespace mlxlm
