#include "kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/thread_pool.h"
#include "kernels/hwy/dispatch.h"

namespace mlxlm::kernels {

void rms_norm(const float* x, const float* weight, float eps, int64_t rows, int64_t dim, float* y) {
  ThreadPool::global().parallel_for(rows, 16, [&](int64_t begin, int64_t end) {
    simd::rms_norm_rows(x + begin * dim, weight, eps, end - begin, dim, y + begin * dim);
  });
}

void silu_mul(const float* gate, const float* up, int64_t n, float* out) {
  ThreadPool::global().parallel_for(n, 1 << 15, [&](int64_t begin, int64_t end) {
    simd::silu_mul(gate + begin, up + begin, end - begin, out + begin);
  });
}

void softmax(float* x, int64_t rows, int64_t n) { simd::softmax_rows(x, rows, n); }

float logsumexp(const float* x, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
  if (!std::isfinite(mx)) return mx;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(double{x[i]} - mx);
  return mx + static_cast<float>(std::log(sum));
}

void add_inplace(float* x, const float* y, int64_t n) { simd::add_inplace(x, y, n); }

}  // namespace mlxlm::kernels
