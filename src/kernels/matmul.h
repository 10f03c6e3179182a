#pragma once
#include <cstdint>

#include "kernels/weight.h"

namespace mlxlm::kernels {

// y[m, w.rows] = x[m, w.cols] · Wᵀ (+ bias[w.rows] when not null). Threads over output rows.
void matmul(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y);

}  // namespace mlxlm::kernels
