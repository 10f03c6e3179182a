#include "kernels/quant_acts.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "base/thread_pool.h"
#include "kernels/hwy/dispatch.h"

namespace mlxlm::kernels {

CodeOrder code_order(const WeightRef& w) {
  if (w.format == WeightFormat::MxFp4) return CodeOrder::Nibbles;
  if (w.format == WeightFormat::Affine && w.bits == 4) return CodeOrder::Nibbles;
  if (w.format == WeightFormat::Affine && w.bits == 2) return CodeOrder::Crumbs;
  return CodeOrder::Natural;
}

int code_order_index(CodeOrder order, int p) {
  switch (order) {
    case CodeOrder::Natural:
      return p;
    case CodeOrder::Nibbles:
      return p < 16 ? 2 * p : 2 * (p - 16) + 1;
    case CodeOrder::Crumbs:
      return 4 * (p % 8) + p / 8;
  }
  return p;
}

int64_t act_offset(CodeOrder order, int64_t blocks, int64_t b, int p) {
  const bool paired = order == CodeOrder::Nibbles && (b ^ 1) < blocks;
  if (!paired) return b * kActBlock + p;
  const int64_t base = (b & ~int64_t{1}) * kActBlock;
  const int64_t half = b & 1;
  return p < 16 ? base + half * 16 + p : base + 32 + half * 16 + (p - 16);
}

namespace {

// Where natural value j of a block that has no pair lands, relative to the block's start: one
// table per layout, so that a block is scattered without recomputing act_offset per value.
// (Nibbles block pairs are laid out by simd::nibble_pairs.)
struct BlockLayout {
  int16_t unpaired[kActBlock];

  explicit BlockLayout(CodeOrder order) {
    for (int p = 0; p < kActBlock; ++p) {
      unpaired[code_order_index(order, p)] = static_cast<int16_t>(act_offset(order, 1, 0, p));
    }
  }
};

const BlockLayout& layout_of(CodeOrder order) {
  static const BlockLayout natural(CodeOrder::Natural), nibbles(CodeOrder::Nibbles),
      crumbs(CodeOrder::Crumbs);
  return order == CodeOrder::Nibbles ? nibbles : order == CodeOrder::Crumbs ? crumbs : natural;
}

// Activation rows per thread-pool task: enough values that a task outweighs its hand-off.
int64_t row_grain(int64_t k) { return std::max<int64_t>(1, (int64_t{1} << 15) / k); }

}  // namespace

QuantizedActs ActQuantizer::quantize(const float* x, int64_t m, int64_t k, CodeOrder order,
                                     int64_t group) {
  const int64_t blocks = k / kActBlock;
  const int64_t groups = k / group;
  const int64_t blocks_per_group = group / kActBlock;
  q_.resize(static_cast<size_t>(m * k));
  scale_.resize(static_cast<size_t>(m * blocks));
  group_sum_.resize(static_cast<size_t>(m * groups));
  group_sum_pairs_.resize(static_cast<size_t>(2 * m * groups));
  const BlockLayout& layout = layout_of(order);
  const bool in_place = order == CodeOrder::Natural;
  auto rows = [&](int64_t begin, int64_t end) {
    thread_local std::vector<int8_t> natural;
    thread_local std::vector<int32_t> sums;
    natural.resize(static_cast<size_t>(k));
    sums.resize(static_cast<size_t>(blocks));
    for (int64_t i = begin; i < end; ++i) {
      int8_t* qrow = q_.data() + i * k;
      float* srow = scale_.data() + i * blocks;
      simd::quantize_blocks(x + i * k, blocks, in_place ? qrow : natural.data(), srow, sums.data());
      if (!in_place) {
        int64_t b = 0;
        if (order == CodeOrder::Nibbles) {
          b = blocks & ~int64_t{1};
          simd::nibble_pairs(natural.data(), b / 2, qrow);
        }
        for (; b < blocks; ++b) {  // blocks without a pair: Crumbs, or an odd last one
          int8_t* dst = qrow + b * kActBlock;
          const int8_t* src = natural.data() + b * kActBlock;
          for (int j = 0; j < kActBlock; ++j) dst[layout.unpaired[j]] = src[j];
        }
      }
      float* gsum = group_sum_.data() + i * groups;
      for (int64_t g = 0; g < groups; ++g) {
        float s = 0.0f;
        for (int64_t b = g * blocks_per_group; b < (g + 1) * blocks_per_group; ++b) {
          s += srow[b] * static_cast<float>(sums[b]);
        }
        gsum[g] = s;
        group_sum_pairs_[2 * (i * groups + g)] = s;
        group_sum_pairs_[2 * (i * groups + g) + 1] = s;
      }
    }
  };
  if (m == 1) {
    rows(0, 1);
  } else {
    ThreadPool::global().parallel_for(m, row_grain(k), rows);
  }
  QuantizedActs a;
  a.q = q_.data();
  a.scale = scale_.data();
  a.group_sum = group_sum_.data();
  a.group_sum_pairs = group_sum_pairs_.data();
  a.m = m;
  a.k = k;
  a.group = group;
  static std::atomic<uint64_t> last_id{0};
  a.id = last_id.fetch_add(1, std::memory_order_relaxed) + 1;
  return a;
}

}  // namespace mlxlm::kernels
