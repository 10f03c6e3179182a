#include "kernels/weight_stream.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/hwy/dispatch.h"

namespace mlxlm::kernels {
namespace {

// Pieces small enough for the threads to share a matrix evenly, large enough that each is a
// long sequential stream for the hardware prefetchers; a multiple of 8, so that each starts on
// a word boundary of its range.
constexpr int64_t kPieceBytes = int64_t{4} << 20;

}  // namespace

uint64_t stream_weights(std::span<const WeightRef> weights) {
  std::vector<std::span<const uint8_t>> pieces;
  for (const WeightRef& w : weights) {
    for (const auto& range : weight_ranges(w)) {
      for (size_t at = 0; at < range.size(); at += kPieceBytes) {
        pieces.push_back(range.subspan(at, std::min<size_t>(kPieceBytes, range.size() - at)));
      }
    }
  }
  std::atomic<uint64_t> total{0};
  ThreadPool::global().parallel_for(
      static_cast<int64_t>(pieces.size()), 1, [&](int64_t begin, int64_t end) {
        uint64_t sum = 0;
        for (int64_t i = begin; i < end; ++i) {
          const auto& piece = pieces[static_cast<size_t>(i)];
          sum += simd::word_sum(piece.data(), static_cast<int64_t>(piece.size()));
        }
        total.fetch_add(sum, std::memory_order_relaxed);
      });
  return total.load();
}

}  // namespace mlxlm::kernels
