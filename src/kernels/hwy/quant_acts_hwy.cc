// Activation quantization to int8 blocks of 32 (see kernels/quant_acts.h), vectorised.
#include "kernels/hwy/dispatch.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/hwy/quant_acts_hwy.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace mlxlm::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void QuantizeBlocks(const float* x, int64_t blocks, int8_t* q, float* scale, int32_t* sums) {
  // At most 16 lanes, so that the lanes always divide a block of 32.
  const hn::CappedTag<float, 16> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const auto lo = hn::Set(di, -127), hi = hn::Set(di, 127);
  for (int64_t b = 0; b < blocks; ++b) {
    const float* xb = x + b * kActBlock;
    auto amax = hn::Zero(df);
    for (int64_t j = 0; j < kActBlock; j += lanes)
      amax = hn::Max(amax, hn::Abs(hn::LoadU(df, xb + j)));
    const float d = hn::GetLane(hn::MaxOfLanes(df, amax)) / 127.0f;
    const auto id = hn::Set(df, d > 0.0f ? 1.0f / d : 0.0f);
    auto sum = hn::Zero(di);
    for (int64_t j = 0; j < kActBlock; j += lanes) {
      // NearestInt rounds half to even, as std::nearbyint does in the default rounding mode.
      const auto v = hn::Min(hn::Max(hn::NearestInt(hn::Mul(hn::LoadU(df, xb + j), id)), lo), hi);
      sum = hn::Add(sum, v);
      hn::StoreU(hn::DemoteTo(d8, v), d8, q + b * kActBlock + j);
    }
    scale[b] = d;
    sums[b] = hn::GetLane(hn::SumOfLanes(di, sum));
  }
}

}  // namespace mlxlm::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mlxlm::kernels::simd {

HWY_EXPORT(QuantizeBlocks);

void quantize_blocks(const float* x, int64_t blocks, int8_t* q, float* scale, int32_t* sums) {
  HWY_DYNAMIC_DISPATCH(QuantizeBlocks)(x, blocks, q, scale, sums);
}

}  // namespace mlxlm::kernels::simd
#endif
