// stream_weights reads every byte of every weight exactly once, whatever the format, however the
// ranges split into pieces and threads; weight_ranges names the bytes of each format.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "base/thread_pool.h"
#include "for_each_target.h"
#include "kernels/weight_stream.h"

namespace mlxlm::kernels {
namespace {

// The sum of a range's little-endian 64-bit words, the last one zero-padded, byte by byte.
uint64_t word_sum(const uint8_t* p, int64_t n) {
  uint64_t sum = 0;
  for (int64_t k = 0; k * 8 < n; ++k) {
    uint64_t word = 0;
    for (int j = 0; j < 8 && k * 8 + j < n; ++j) word |= uint64_t{p[k * 8 + j]} << (8 * j);
    sum += word;
  }
  return sum;
}

struct Weights {
  std::vector<uint8_t> bytes;  // every range, back to back
  std::vector<WeightRef> refs;
  std::vector<std::pair<int64_t, int64_t>> ranges;  // (offset, size) in `bytes`
};

// A bf16 matrix larger than one 4 MiB piece, and small weights of every other format whose
// ranges end off a word boundary.
Weights make_weights() {
  Weights w;
  w.ranges = {{0, 1100 * 2048 * 2}};
  auto add = [&](int64_t size) {
    const int64_t at = w.ranges.back().first + w.ranges.back().second;
    w.ranges.push_back({at, size});
  };
  add(3 * 5 * 4);       // f32 3 x 5: 60 bytes
  add(5 * 64 * 3 / 8);  // 3-bit 5 x 64, group 32: 120 bytes of codes
  add(5 * 2 * 2);       // its bf16 scales: 20 bytes
  add(5 * 2 * 2);       // and biases
  add(4 * 64 / 2);      // mxfp4 4 x 64: 128 bytes of codes
  add(4 * 64 / 32);     // and 8 scale bytes
  w.bytes.resize(static_cast<size_t>(w.ranges.back().first + w.ranges.back().second));
  std::mt19937 rng(7);
  for (auto& b : w.bytes) b = static_cast<uint8_t>(rng());
  const uint8_t* base = w.bytes.data();
  auto at = [&](int i) { return base + w.ranges[i].first; };
  w.refs.push_back({.format = WeightFormat::BF16, .data = at(0), .rows = 1100, .cols = 2048});
  w.refs.push_back({.format = WeightFormat::F32, .data = at(1), .rows = 3, .cols = 5});
  w.refs.push_back({.format = WeightFormat::Affine,
                    .data = at(2),
                    .rows = 5,
                    .cols = 64,
                    .scales = at(3),
                    .biases = at(4),
                    .scale_dtype = DType::BF16,
                    .bits = 3,
                    .group_size = 32});
  w.refs.push_back({.format = WeightFormat::MxFp4,
                    .data = at(5),
                    .rows = 4,
                    .cols = 64,
                    .scales = at(6),
                    .scale_dtype = DType::U8,
                    .bits = 4,
                    .group_size = 32});
  return w;
}

TEST(WeightRanges, NameEachFormatsBytes) {
  const Weights w = make_weights();
  const std::vector<std::vector<int>> expected = {{0}, {1}, {2, 3, 4}, {5, 6}};
  for (size_t i = 0; i < w.refs.size(); ++i) {
    const auto ranges = weight_ranges(w.refs[i]);
    ASSERT_EQ(ranges.size(), expected[i].size()) << "weight " << i;
    int64_t total = 0;
    for (size_t j = 0; j < ranges.size(); ++j) {
      const auto [offset, size] = w.ranges[static_cast<size_t>(expected[i][j])];
      EXPECT_EQ(ranges[j].data(), w.bytes.data() + offset) << "weight " << i << " range " << j;
      EXPECT_EQ(static_cast<int64_t>(ranges[j].size()), size) << "weight " << i << " range " << j;
      total += size;
    }
    EXPECT_EQ(weight_bytes(w.refs[i]), total) << "weight " << i;
  }
}

TEST(StreamWeights, ReadsEveryByteOnceEveryTarget) {
  const Weights w = make_weights();
  uint64_t expected = 0;
  for (const auto& [offset, size] : w.ranges) expected += word_sum(w.bytes.data() + offset, size);
  testing::for_each_simd_target([&] {
    for (int threads : {1, 2, 3}) {
      ThreadPool::set_num_threads(threads);
      EXPECT_EQ(stream_weights(w.refs), expected) << threads << " threads";
    }
  });
  ThreadPool::set_num_threads(0);
}

}  // namespace
}  // namespace mlxlm::kernels
