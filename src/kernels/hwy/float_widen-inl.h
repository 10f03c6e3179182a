// F32 / F16 / BF16 weights read as f32: a vector at a time (LoadW) or one value (ScalarW), for
// the float kernels of float_matmul_hwy.cc and float_panel-inl.h. Included once per SIMD target.
#if defined(MLXLM_KERNELS_FLOAT_WIDEN_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLXLM_KERNELS_FLOAT_WIDEN_INL_H_
#undef MLXLM_KERNELS_FLOAT_WIDEN_INL_H_
#else
#define MLXLM_KERNELS_FLOAT_WIDEN_INL_H_
#endif

#include <hwy/highway.h>

#include "kernels/hwy/scalar_load.h"

HWY_BEFORE_NAMESPACE();
namespace mlxlm::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

HWY_INLINE VF LoadW(DF df, const float* p) { return hn::LoadU(df, p); }
HWY_INLINE VF LoadW(DF df, const hwy::bfloat16_t* p) {
  return hn::PromoteTo(df, hn::LoadU(hn::Rebind<hwy::bfloat16_t, DF>(), p));
}
HWY_INLINE VF LoadW(DF df, const hwy::float16_t* p) {
  return hn::PromoteTo(df, hn::LoadU(hn::Rebind<hwy::float16_t, DF>(), p));
}

HWY_INLINE float ScalarW(const float* p) { return load_f32(p, 0); }
HWY_INLINE float ScalarW(const hwy::bfloat16_t* p) { return bf16_to_f32(load_u16(p, 0)); }
HWY_INLINE float ScalarW(const hwy::float16_t* p) { return f16_to_f32(load_u16(p, 0)); }

}  // namespace mlxlm::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
