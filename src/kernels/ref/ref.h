#pragma once
// Naive scalar oracles for the kernels: double accumulation, no threads, never optimised.
// Tests compare every optimised kernel (on every compiled SIMD target) against these.
#include <cstdint>

#include "kernels/attention.h"
#include "kernels/rope.h"
#include "kernels/weight.h"

namespace mlxlm::kernels::ref {

void matmul(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y);
// matmul with x first rounded as the quantized kernels round it: blocks of `block` values
// (32 for the Highway kernels, 64 for the AMX integer tiles), scale = max|x| / 127,
// q = round-half-even(x / scale).
void matmul_int8_acts(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y,
                      int64_t block = 32);
// matmul with x and the dequantized weights first rounded to bf16 (nearest even), as the AMX
// tile products round them.
void matmul_bf16(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y);
void attention(const AttentionArgs& args);
void rms_norm(const float* x, const float* weight, float eps, int64_t rows, int64_t dim, float* y);
void silu_mul(const float* gate, const float* up, int64_t n, float* out);
void softmax(float* x, int64_t rows, int64_t n);
void rope(float* x, const RopeArgs& args);

}  // namespace mlxlm::kernels::ref
