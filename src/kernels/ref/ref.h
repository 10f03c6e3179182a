#pragma once
// Naive scalar oracles for the kernels: double accumulation, no threads, never optimised.
// Tests compare every optimised kernel (on every compiled SIMD target) against these.
#include <cstdint>

#include "kernels/attention.h"
#include "kernels/weight.h"

namespace mlxlm::kernels::ref {

void matmul(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y);
void attention(const AttentionArgs& args);

}  // namespace mlxlm::kernels::ref
