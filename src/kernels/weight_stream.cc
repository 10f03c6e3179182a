#include "kernels/weight_stream.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "base/thread_pool.h"

namespace mlxlm::kernels {
namespace {

// Pieces small enough for the threads to share a matrix evenly, large enough that each is a
// long sequential stream for the hardware prefetchers.
constexpr int64_t kPieceBytes = int64_t{4} << 20;

uint64_t load_word(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// The word sum of one piece, which starts on a word boundary of its range.
uint64_t sum_words(std::span<const uint8_t> piece) {
  const uint8_t* p = piece.data();
  const int64_t n = static_cast<int64_t>(piece.size());
  // Four independent sums, so that the loads are not serialised behind one add chain.
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 += load_word(p + i);
    s1 += load_word(p + i + 8);
    s2 += load_word(p + i + 16);
    s3 += load_word(p + i + 24);
  }
  for (; i + 8 <= n; i += 8) s0 += load_word(p + i);
  if (i < n) {
    uint8_t tail[8] = {};
    std::memcpy(tail, p + i, static_cast<size_t>(n - i));
    s0 += load_word(tail);
  }
  return s0 + s1 + s2 + s3;
}

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
  ThreadPool::global().parallel_for(static_cast<int64_t>(pieces.size()), 1,
                                    [&](int64_t begin, int64_t end) {
                                      uint64_t sum = 0;
                                      for (int64_t i = begin; i < end; ++i)
                                        sum += sum_words(pieces[static_cast<size_t>(i)]);
                                      total.fetch_add(sum, std::memory_order_relaxed);
                                    });
  return total.load();
}

}  // namespace mlxlm::kernels
