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

// `pairs` block pairs of natural-order codes into CodeOrder::Nibbles: per pair, the even values
// of both blocks, then their odd values. Batched decoding quantizes 8 rows per product on the
// calling thread alone, and a byte-by-byte scatter of them took 3.5 % of its decoding step.
void NibblePairs(const int8_t* src, int64_t pairs, int8_t* dst) {
#if HWY_TARGET == HWY_SCALAR
  for (int64_t p = 0; p < pairs * 64; ++p) {
    const int64_t pair = p / 64, j = p % 64, block = (j / 16) % 2, odd = j / 32;
    dst[p] = src[pair * 64 + block * kActBlock + 2 * (j % 16) + odd];
  }
#else
  const hn::FixedTag<int8_t, 16> d;
  for (int64_t p = 0; p < pairs; ++p, src += 64, dst += 64) {
    const auto a0 = hn::LoadU(d, src), a1 = hn::LoadU(d, src + 16);
    const auto b0 = hn::LoadU(d, src + 32), b1 = hn::LoadU(d, src + 48);
    hn::StoreU(hn::ConcatEven(d, a1, a0), d, dst);
    hn::StoreU(hn::ConcatEven(d, b1, b0), d, dst + 16);
    hn::StoreU(hn::ConcatOdd(d, a1, a0), d, dst + 32);
    hn::StoreU(hn::ConcatOdd(d, b1, b0), d, dst + 48);
  }
#endif
}

}  // namespace mlxlm::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mlxlm::kernels::simd {

HWY_EXPORT(QuantizeBlocks);
HWY_EXPORT(NibblePairs);

void quantize_blocks(const float* x, int64_t blocks, int8_t* q, float* scale, int32_t* sums) {
  HWY_DYNAMIC_DISPATCH(QuantizeBlocks)(x, blocks, q, scale, sums);
}

void nibble_pairs(const int8_t* natural, int64_t pairs, int8_t* q) {
  HWY_DYNAMIC_DISPATCH(NibblePairs)(natural, pairs, q);
}

}  // namespace mlxlm::kernels::simd
#endif
