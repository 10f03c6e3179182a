#include "kernels/quant_acts.h"

#include <algorithm>
#include <cmath>

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

QuantizedActs ActQuantizer::quantize(const float* x, int64_t m, int64_t k, CodeOrder order,
                                     int64_t group) {
  const int64_t blocks = k / kActBlock;
  const int64_t groups = k / group;
  const int64_t blocks_per_group = group / kActBlock;
  q_.resize(static_cast<size_t>(m * k));
  scale_.resize(static_cast<size_t>(m * blocks));
  group_sum_.assign(static_cast<size_t>(m * groups), 0.0f);
  int perm[kActBlock];
  for (int p = 0; p < kActBlock; ++p) perm[p] = code_order_index(order, p);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t b = 0; b < blocks; ++b) {
      const float* xb = x + i * k + b * kActBlock;
      float amax = 0.0f;
      for (int j = 0; j < kActBlock; ++j) amax = std::max(amax, std::fabs(xb[j]));
      const float d = amax / 127.0f;
      const float id = d > 0.0f ? 1.0f / d : 0.0f;
      int8_t* qrow = q_.data() + i * k;
      int32_t sum = 0;
      for (int p = 0; p < kActBlock; ++p) {
        auto v = static_cast<int32_t>(std::nearbyint(xb[perm[p]] * id));
        v = std::clamp(v, -127, 127);
        qrow[act_offset(order, blocks, b, p)] = static_cast<int8_t>(v);
        sum += v;
      }
      scale_[i * blocks + b] = d;
      group_sum_[i * groups + b / blocks_per_group] += d * static_cast<float>(sum);
    }
  }
  QuantizedActs a;
  a.q = q_.data();
  a.scale = scale_.data();
  a.group_sum = group_sum_.data();
  a.m = m;
  a.k = k;
  a.group = group;
  return a;
}

}  // namespace mlxlm::kernels
