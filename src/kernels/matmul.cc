#include "kernels/matmul.h"

#include <algorithm>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/amx/amx.h"
#include "kernels/hwy/dispatch.h"
#include "kernels/quant_acts.h"

namespace mlxlm::kernels {
namespace {

bool is_quantized(const WeightRef& w) {
  return w.format == WeightFormat::Affine || w.format == WeightFormat::MxFp4;
}

// Rows per task: enough multiply-adds (~128k, a few microseconds) to amortise a hand-off, few
// enough that a decoding step's 2048-row projections are shared by every thread.
int64_t row_grain(int64_t m, int64_t cols) {
  return std::max<int64_t>(4, (int64_t{1} << 17) / std::max<int64_t>(1, m * cols));
}

// The tile path (amx.h) for all of `outputs`: one packing of x, then panels of rows from every
// weight handed to the threads together.
bool amx_matmul_group(const float* x, int64_t m, std::span<const MatmulOutput> outputs) {
  if (m < amx::kMinRows || !amx::enabled()) return false;
  for (const auto& o : outputs) {
    if (!amx::supports(*o.w) || o.w->cols != outputs.front().w->cols) return false;
  }
  thread_local amx::ActPacker packer;
  const amx::PackedActs acts = packer.pack(x, m, outputs.front().w->cols);
  std::vector<int64_t> starts{0};  // first global panel of each weight
  for (const auto& o : outputs) {
    starts.push_back(starts.back() + (o.w->rows + amx::kPanelRows - 1) / amx::kPanelRows);
  }
  ThreadPool::global().parallel_for(starts.back(), 1, [&](int64_t p0, int64_t p1) {
    for (size_t i = 0; i < outputs.size(); ++i) {
      const int64_t lo = std::max(p0, starts[i]), hi = std::min(p1, starts[i + 1]);
      if (lo >= hi) continue;
      const MatmulOutput& o = outputs[i];
      amx::matmul_rows(acts, *o.w, o.bias, o.y, (lo - starts[i]) * amx::kPanelRows,
                       std::min(o.w->rows, (hi - starts[i]) * amx::kPanelRows));
    }
  });
  return true;
}

}  // namespace

void matmul(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y) {
  const MatmulOutput one{&w, bias, y};
  matmul_group(x, m, std::span(&one, 1));
}

void matmul_group(const float* x, int64_t m, std::span<const MatmulOutput> outputs) {
  if (outputs.empty() || amx_matmul_group(x, m, outputs)) return;
  const WeightRef& first = *outputs.front().w;
  const bool quantized = is_quantized(first);
  for (const auto& o : outputs) {
    const bool same_input = o.w->cols == first.cols && is_quantized(*o.w) == quantized &&
                            (!quantized || (code_order(*o.w) == code_order(first) &&
                                            o.w->group_size == first.group_size));
    if (!same_input) {
      for (const auto& each : outputs) matmul_group(x, m, std::span(&each, 1));
      return;
    }
  }
  // Global output rows: the weights' rows one after another.
  std::vector<int64_t> starts{0};
  for (const auto& o : outputs) starts.push_back(starts.back() + o.w->rows);
  thread_local ActQuantizer quantizer;
  QuantizedActs acts{};
  if (quantized) acts = quantizer.quantize(x, m, first.cols, code_order(first), first.group_size);
  // Tasks are whole pairs of rows, the kernels' tile: an odd split would leave one-row tiles.
  const int64_t total = starts.back();
  ThreadPool::global().parallel_for(
      (total + 1) / 2, row_grain(m, first.cols) / 2, [&](int64_t pair0, int64_t pair1) {
        const int64_t begin = 2 * pair0, end = std::min(total, 2 * pair1);
        for (size_t i = 0; i < outputs.size(); ++i) {
          const int64_t lo = std::max(begin, starts[i]), hi = std::min(end, starts[i + 1]);
          if (lo >= hi) continue;
          const MatmulOutput& o = outputs[i];
          if (quantized) {
            simd::matmul_quant_rows(acts, *o.w, o.bias, o.y, lo - starts[i], hi - starts[i]);
          } else {
            simd::matmul_float_rows(x, m, *o.w, o.bias, o.y, lo - starts[i], hi - starts[i]);
          }
        }
      });
}

}  // namespace mlxlm::kernels
