#include "kernels/matmul.h"

#include <algorithm>
#include <vector>

#include "base/thread_pool.h"

namespace mlxlm::kernels {
namespace {

float dot(const float* a, const float* b, int64_t n) {
  // Four independent accumulators let the compiler keep several FMAs in flight.
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

}  // namespace

void matmul(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y) {
  const int64_t n = w.rows;
  const int64_t k = w.cols;
  ThreadPool::global().parallel_for(n, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> row(w.format == WeightFormat::F32 ? 0 : k);
    for (int64_t r = begin; r < end; ++r) {
      const float* wr;
      if (w.format == WeightFormat::F32) {
        wr = static_cast<const float*>(w.data) + r * k;
      } else {
        dequantize_row(w, r, row.data());
        wr = row.data();
      }
      float b = bias != nullptr ? bias[r] : 0.0f;
      for (int64_t i = 0; i < m; ++i) y[i * n + r] = dot(x + i * k, wr, k) + b;
    }
  });
}

}  // namespace mlxlm::kernels
