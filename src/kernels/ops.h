#pragma once
// Element-wise and row-wise kernels on f32 activations.
#include <cstdint>

namespace mlxlm::kernels {

// y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight, for `rows` rows of length `dim`.
void rms_norm(const float* x, const float* weight, float eps, int64_t rows, int64_t dim, float* y);

// out[i] = silu(gate[i]) * up[i].
void silu_mul(const float* gate, const float* up, int64_t n, float* out);

// In-place softmax of each of `rows` rows of length `n`.
void softmax(float* x, int64_t rows, int64_t n);

// log(sum(exp(x))) of one row, computed stably.
float logsumexp(const float* x, int64_t n);

// The index std::max_element gives: the first of the largest values (0 for n == 0).
int64_t argmax(const float* x, int64_t n);

// Sum of n values, threaded; reads memory at full speed (the bandwidth probe of the benchmarks).
float sum(const float* x, int64_t n);

// x += y.
void add_inplace(float* x, const float* y, int64_t n);

}  // namespace mlxlm::kernels
