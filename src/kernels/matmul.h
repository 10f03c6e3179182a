#pragma once
#include <cstdint>
#include <span>

#include "kernels/weight.h"

namespace mlxlm::kernels {

// y[m, w.rows] = x[m, w.cols] · Wᵀ (+ bias[w.rows] when not null). Threads over output rows.
void matmul(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y);

// One product of a group that shares its input.
struct MatmulOutput {
  const WeightRef* w;
  const float* bias;  // may be null
  float* y;           // [m, w->rows]
};

// The products of one input with several weights (q/k/v, gate/up): one pass of activation
// quantization and one hand-off to the threads for all of them, instead of one per weight.
// Falls back to separate products when the weights want differently prepared inputs.
void matmul_group(const float* x, int64_t m, std::span<const MatmulOutput> outputs);

}  // namespace mlxlm::kernels
