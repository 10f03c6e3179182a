#include "kernels/ops.h"

#include <atomic>
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

float sum(const float* x, int64_t n) {
  auto& pool = ThreadPool::global();
  std::vector<float> partial(pool.num_threads() * 4, 0.0f);
  std::atomic<int> slot{0};
  pool.parallel_for(n, 1 << 16, [&](int64_t begin, int64_t end) {
    partial[slot.fetch_add(1)] = simd::sum(x + begin, end - begin);
  });
  float s = 0.0f;
  for (float p : partial) s += p;
  return s;
}

void add_inplace(float* x, const float* y, int64_t n) { simd::add_inplace(x, y, n); }

}  // namespace mlxlm::kernels
