// Small float vector routines shared by the element-wise and attention kernels, included once
// per SIMD target.
#if defined(MLXLM_KERNELS_VEC_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLXLM_KERNELS_VEC_MATH_INL_H_
#undef MLXLM_KERNELS_VEC_MATH_INL_H_
#else
#define MLXLM_KERNELS_VEC_MATH_INL_H_
#endif

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include "tensor/dtype.h"

HWY_BEFORE_NAMESPACE();
namespace mlxlm::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Storage of a cached key or value of dtype KD (F32, BF16 or F16); KvLoad and KvScalar read
// them as f32.
template <DType KD>
using KvType = std::conditional_t<KD == DType::F32, float, uint16_t>;

template <DType KD>
HWY_INLINE float KvScalar(const KvType<KD>* p) {
  if constexpr (KD == DType::F32) {
    return *p;
  } else if constexpr (KD == DType::BF16) {
    return bf16_to_f32(*p);
  } else {
    return f16_to_f32(*p);
  }
}

template <DType KD, class D>
HWY_INLINE hn::Vec<D> KvLoad(D d, const KvType<KD>* p) {
  if constexpr (KD == DType::F32) {
    return hn::LoadU(d, p);
  } else if constexpr (KD == DType::BF16) {
    const hn::Rebind<uint16_t, D> d16;
    const hn::Rebind<uint32_t, D> d32;
    return hn::BitCast(d, hn::ShiftLeft<16>(hn::PromoteTo(d32, hn::LoadU(d16, p))));
  } else {
    const hn::Rebind<hwy::float16_t, D> dh;
    return hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(p)));
  }
}

template <DType KD = DType::F32>
HWY_INLINE float Dot(const float* a, const KvType<KD>* b, int64_t n) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  VF s0 = hn::Zero(df), s1 = hn::Zero(df);
  int64_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    s0 = hn::MulAdd(hn::LoadU(df, a + i), KvLoad<KD>(df, b + i), s0);
    s1 = hn::MulAdd(hn::LoadU(df, a + i + lanes), KvLoad<KD>(df, b + i + lanes), s1);
  }
  for (; i + lanes <= n; i += lanes)
    s0 = hn::MulAdd(hn::LoadU(df, a + i), KvLoad<KD>(df, b + i), s0);
  float s = hn::GetLane(hn::SumOfLanes(df, hn::Add(s0, s1)));
  for (; i < n; ++i) s += a[i] * KvScalar<KD>(b + i);
  return s;
}

// y = a * x + y.
template <DType KD = DType::F32>
HWY_INLINE void Axpy(float a, const KvType<KD>* x, float* y, int64_t n) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const VF va = hn::Set(df, a);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(hn::MulAdd(va, KvLoad<KD>(df, x + i), hn::LoadU(df, y + i)), df, y + i);
  }
  for (; i < n; ++i) y[i] += a * KvScalar<KD>(x + i);
}

HWY_INLINE void Scale(float a, float* x, int64_t n) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const VF va = hn::Set(df, a);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::Mul(va, hn::LoadU(df, x + i)), df, x + i);
  for (; i < n; ++i) x[i] *= a;
}

// exp(x - mx) for x <= mx: 0 below -87, where exp underflows, which also keeps -inf (masked
// entries) out of Exp.
HWY_INLINE VF ExpShifted(VF x, VF mx) {
  const DF df;
  const VF lo = hn::Set(df, -87.0f);
  const VF d = hn::Sub(x, mx);
  return hn::IfThenZeroElse(hn::Lt(d, lo), hn::Exp(df, hn::Max(d, lo)));
}

// x[i] = exp(x[i] - mx) for every i; returns the sum. -inf entries become 0.
HWY_INLINE float ExpShiftSum(float* x, int64_t n, float mx) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const VF vmx = hn::Set(df, mx);
  VF sum = hn::Zero(df);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const VF e = ExpShifted(hn::LoadU(df, x + i), vmx);
    hn::StoreU(e, df, x + i);
    sum = hn::Add(sum, e);
  }
  float s = hn::GetLane(hn::SumOfLanes(df, sum));
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    s += x[i];
  }
  return s;
}

HWY_INLINE float MaxOf(const float* x, int64_t n) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  VF m = hn::Set(df, -std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) m = hn::Max(m, hn::LoadU(df, x + i));
  float r = hn::GetLane(hn::MaxOfLanes(df, m));
  for (; i < n; ++i) r = std::max(r, x[i]);
  return r;
}

}  // namespace mlxlm::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // MLXLM_KERNELS_VEC_MATH_INL_H_
