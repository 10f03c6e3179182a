#include "kernels/matmul.h"

#include <algorithm>

#include "base/thread_pool.h"
#include "kernels/hwy/dispatch.h"
#include "kernels/quant_acts.h"

namespace mlxlm::kernels {

void matmul(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y) {
  auto& pool = ThreadPool::global();
  // Rows per task: enough multiply-adds (~128k, a few microseconds) to amortise a hand-off,
  // few enough that a decoding step's 2048-row projections are shared by every thread.
  const int64_t grain = std::max<int64_t>(4, (int64_t{1} << 17) / std::max<int64_t>(1, m * w.cols));
  const bool quantized = w.format == WeightFormat::Affine || w.format == WeightFormat::MxFp4;
  if (!quantized) {
    pool.parallel_for(w.rows, grain, [&](int64_t begin, int64_t end) {
      simd::matmul_float_rows(x, m, w, bias, y, begin, end);
    });
    return;
  }
  thread_local ActQuantizer quantizer;
  const QuantizedActs acts = quantizer.quantize(x, m, w.cols, code_order(w), w.group_size);
  pool.parallel_for(w.rows, grain, [&](int64_t begin, int64_t end) {
    simd::matmul_quant_rows(acts, w, bias, y, begin, end);
  });
}

}  // namespace mlxlm::kernels
