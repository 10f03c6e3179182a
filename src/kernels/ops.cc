#include "kernels/ops.h"

#include <vector>

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

float logsumexp(const float* x, int64_t n) { return simd::logsumexp(x, n); }

int64_t argmax(const float* x, int64_t n) { return simd::argmax(x, n); }

float sum(const float* x, int64_t n) {
  constexpr int64_t kGrain = 1 << 16;
  // One slot per grain: ranges start at multiples of it, however many the pool hands out.
  std::vector<float> partial((n + kGrain - 1) / kGrain, 0.0f);
  ThreadPool::global().parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    partial[begin / kGrain] = simd::sum(x + begin, end - begin);
  });
  float s = 0.0f;
  for (float p : partial) s += p;
  return s;
}

void add_inplace(float* x, const float* y, int64_t n) { simd::add_inplace(x, y, n); }

}  // namespace mlxlm::kernels
