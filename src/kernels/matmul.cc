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

// Decoding one sequence (fewer than 4 activation rows) streams the weights from DRAM, and a
// task handed out anywhere starts a cold stream: the hardware prefetchers retrain, and the
// kernels' prefetch ahead runs past the task's end into rows another thread may take (8 guided
// tasks per product were 9-12 % slower than one per thread for SmolLM2-135M). So it takes the
// pool's streams loop: each thread runs its own share front to back in kStreamGrains grains,
// and one done early takes grains from the back of the other's (one task per thread left the
// caller waiting for the worker 6 % (1B 4-bit) and 13 % (135M) of the loops' time on the shared
// VM). 16 grains a share: the pool's share of a 1B 4-bit profile was 4.5-4.9 % with 8, 3.2-3.7 %
// with 16, 3.1-3.6 % with 32.
bool streams(int64_t m) { return m < 4; }
constexpr int64_t kStreamGrains = 16;

// Pairs of rows per task. Batched decoding takes the pool's guided hand-out, in whole tiles of
// 16 rows (LaneRows): its kernel is busier per byte, and an even split measured 5 % slower at
// batch 8.
int64_t pair_grain(int64_t m, int64_t cols, int64_t pairs) {
  constexpr int64_t kLaneTilePairs = 8;
  if (!streams(m)) return std::max(row_grain(m, cols) / 2, kLaneTilePairs);
  // A streams grain costs a call on the thread that runs its share, not a hand-off.
  const int64_t threads = ThreadPool::global().num_threads();
  const int64_t share = (pairs + threads - 1) / threads;
  return std::max<int64_t>(8, (share + kStreamGrains - 1) / kStreamGrains);
}

// The tile paths (amx.h) for all of `outputs`: one packing of x, then panels of rows from every
// weight handed to the threads together. Integer products (AMX tiles, else AVX-512 VNNI) when
// every weight takes them with the same code order, bf16 products (AMX tiles, else vdpbf16ps)
// when every weight takes those and none takes integer ones.
bool amx_matmul_group(const float* x, int64_t m, std::span<const MatmulOutput> outputs) {
  if (m < amx::kMinRows || !amx::enabled()) return false;
  const bool tiles = amx::tiles_enabled();  // else VNNI, and vdpbf16ps where there is some
  const WeightRef& first = *outputs.front().w;
  bool int8 = true, any_int8 = false, bf16 = tiles || amx::dpbf16_available();
  for (const auto& o : outputs) {
    int8 = int8 && amx::supports_int8(*o.w) && o.w->bits == first.bits;
    any_int8 = any_int8 || amx::supports_int8(*o.w);
    bf16 = bf16 && amx::supports(*o.w);
    if (o.w->cols != first.cols) return false;
  }
  if (int8 && m < amx::int8_min_rows(first)) return false;
  if (!int8 && (any_int8 || !bf16)) {
    // Mixed: each weight takes the path its own product would, so grouping never changes y.
    if (outputs.size() == 1) return false;
    for (const auto& o : outputs) matmul_group(x, m, std::span(&o, 1));
    return true;
  }
  thread_local amx::ActPacker packer;
  thread_local amx::Int8ActPacker int8_packer;
  amx::PackedActs acts;
  amx::Int8Acts int8_acts;
  if (int8) {
    int8_acts = int8_packer.pack(x, m, first.cols, first.bits == 4);
  } else {
    acts = packer.pack(x, m, first.cols);
  }
  std::vector<int64_t> starts{0};  // first global panel of each weight
  for (const auto& o : outputs) {
    starts.push_back(starts.back() + (o.w->rows + amx::kPanelRows - 1) / amx::kPanelRows);
  }
  ThreadPool::global().parallel_for(starts.back(), 1, [&](int64_t p0, int64_t p1) {
    for (size_t i = 0; i < outputs.size(); ++i) {
      const int64_t lo = std::max(p0, starts[i]), hi = std::min(p1, starts[i + 1]);
      if (lo >= hi) continue;
      const MatmulOutput& o = outputs[i];
      const int64_t r0 = (lo - starts[i]) * amx::kPanelRows;
      const int64_t r1 = std::min(o.w->rows, (hi - starts[i]) * amx::kPanelRows);
      if (int8 && tiles) {
        amx::int8_matmul_rows(int8_acts, *o.w, o.bias, o.y, r0, r1);
      } else if (int8) {
        amx::vnni_int8_matmul_rows(int8_acts, *o.w, o.bias, o.y, r0, r1);
      } else if (tiles) {
        amx::matmul_rows(acts, *o.w, o.bias, o.y, r0, r1);
      } else {
        amx::dpbf16_matmul_rows(acts, *o.w, o.bias, o.y, r0, r1);
      }
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
  const int64_t pairs = (total + 1) / 2;
  const int64_t threads = ThreadPool::global().num_threads();
  const int64_t grain = !quantized && m >= simd::kFloatPanelMinRows
                            ? (pairs + threads - 1) / threads
                            : pair_grain(m, first.cols, pairs);
  auto rows = [&](int64_t pair0, int64_t pair1) {
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
  };
  if (streams(m)) {
    ThreadPool::global().parallel_for_streams(pairs, grain, rows);
  } else {
    ThreadPool::global().parallel_for(pairs, grain, rows);
  }
}

}  // namespace mlxlm::kernels
