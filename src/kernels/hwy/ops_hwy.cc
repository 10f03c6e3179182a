// Element-wise and row-wise kernels (norms, activations, softmax, RoPE), vectorised with Highway.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/hwy/dispatch.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/hwy/ops_hwy.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// foreach_target.h must come before every other Highway header.
#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include "kernels/hwy/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace mlxlm::kernels::HWY_NAMESPACE {

void RmsNormRows(const float* x, const float* weight, float eps, int64_t rows, int64_t dim,
                 float* y) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    const float ss = Dot(xr, xr, dim);
    const float inv = 1.0f / std::sqrt(ss / static_cast<float>(dim) + eps);
    const VF vi = hn::Set(df, inv);
    int64_t i = 0;
    for (; i + lanes <= dim; i += lanes) {
      hn::StoreU(hn::Mul(hn::Mul(hn::LoadU(df, xr + i), vi), hn::LoadU(df, weight + i)), df,
                 yr + i);
    }
    for (; i < dim; ++i) yr[i] = xr[i] * inv * weight[i];
  }
}

void SiluMul(const float* gate, const float* up, int64_t n, float* out) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const VF one = hn::Set(df, 1.0f);
  const VF lo = hn::Set(df, -87.0f);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const VF g = hn::LoadU(df, gate + i);
    // exp(-g) overflows for g < -88: clamp, silu is then 0 to float precision anyway.
    const VF e = hn::Exp(df, hn::Neg(hn::Max(g, lo)));
    hn::StoreU(hn::Mul(hn::Div(g, hn::Add(one, e)), hn::LoadU(df, up + i)), df, out + i);
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void SoftmaxRows(float* x, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    float* xr = x + r * n;
    const float mx = MaxOf(xr, n);
    if (mx == -std::numeric_limits<float>::infinity()) {
      for (int64_t i = 0; i < n; ++i) xr[i] = 0.0f;  // fully masked row
      continue;
    }
    Scale(1.0f / ExpShiftSum(xr, n, mx), xr, n);
  }
}

// log(sum(exp(x))): the exponentials summed in f32 lanes over chunks of 1024 values, and the
// chunks in double, so the sum over a 128k-entry vocabulary keeps float accuracy (the log of
// the sum is off by its relative error, at most ~1e-7 per chunk here).
float LogSumExp(const float* x, int64_t n) {
  const float mx = MaxOf(x, n);
  if (!std::isfinite(mx)) return mx;
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const VF vmx = hn::Set(df, mx);
  constexpr int64_t kChunk = 1024;
  double total = 0.0;
  int64_t i = 0;
  while (i + lanes <= n) {
    const int64_t end = std::min(n, i + kChunk);
    VF s0 = hn::Zero(df), s1 = hn::Zero(df);
    for (; i + 2 * lanes <= end; i += 2 * lanes) {
      s0 = hn::Add(s0, ExpShifted(hn::LoadU(df, x + i), vmx));
      s1 = hn::Add(s1, ExpShifted(hn::LoadU(df, x + i + lanes), vmx));
    }
    for (; i + lanes <= end; i += lanes) s0 = hn::Add(s0, ExpShifted(hn::LoadU(df, x + i), vmx));
    total += hn::GetLane(hn::SumOfLanes(df, hn::Add(s0, s1)));
  }
  for (; i < n; ++i) total += std::exp(double{x[i]} - mx);
  return mx + static_cast<float>(std::log(total));
}

// std::max_element's index: the first of the largest values. A NaN (which max_element skips,
// unless it comes first) sends the row to the scalar loop.
int64_t ArgMax(const float* x, int64_t n) {
  const auto scalar = [&] { return std::max_element(x, x + n) - x; };
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  VF m = hn::Set(df, -std::numeric_limits<float>::infinity());
  auto nan = hn::FirstN(df, 0);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const VF v = hn::LoadU(df, x + i);
    nan = hn::Or(nan, hn::IsNaN(v));
    m = hn::Max(m, v);
  }
  if (!hn::AllFalse(df, nan)) return scalar();
  float mx = hn::GetLane(hn::MaxOfLanes(df, m));
  for (; i < n; ++i) {
    if (std::isnan(x[i])) return scalar();
    mx = std::max(mx, x[i]);
  }
  const VF vmx = hn::Set(df, mx);
  for (i = 0; i + lanes <= n; i += lanes) {
    const intptr_t at = hn::FindFirstTrue(df, hn::Eq(hn::LoadU(df, x + i), vmx));
    if (at >= 0) return i + at;
  }
  for (; i < n; ++i) {
    if (x[i] == mx) return i;
  }
  return 0;  // n == 0
}

void AddInplace(float* x, const float* y, int64_t n) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(hn::Add(hn::LoadU(df, x + i), hn::LoadU(df, y + i)), df, x + i);
  }
  for (; i < n; ++i) x[i] += y[i];
}

float Sum(const float* x, int64_t n) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  VF s0 = hn::Zero(df), s1 = hn::Zero(df), s2 = hn::Zero(df), s3 = hn::Zero(df);
  int64_t i = 0;
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    s0 = hn::Add(s0, hn::LoadU(df, x + i));
    s1 = hn::Add(s1, hn::LoadU(df, x + i + lanes));
    s2 = hn::Add(s2, hn::LoadU(df, x + i + 2 * lanes));
    s3 = hn::Add(s3, hn::LoadU(df, x + i + 3 * lanes));
  }
  float s = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
  for (; i < n; ++i) s += x[i];
  return s;
}

uint64_t WordSum(const uint8_t* p, int64_t n) {
  int64_t i = 0;
  uint64_t s = 0;
#if HWY_TARGET != HWY_SCALAR  // a one-byte vector holds no word
  const hn::ScalableTag<uint8_t> d8;
  const hn::Repartition<uint64_t, decltype(d8)> d64;
  const auto bytes = static_cast<int64_t>(hn::Lanes(d8));
  auto word = [&](int64_t at) { return hn::BitCast(d64, hn::LoadU(d8, p + at)); };
  // Four independent sums, and one load per vector: the loads in flight, not the adds, set
  // how fast memory streams in.
  auto s0 = hn::Zero(d64), s1 = s0, s2 = s0, s3 = s0;
  for (; i + 4 * bytes <= n; i += 4 * bytes) {
    s0 = hn::Add(s0, word(i));
    s1 = hn::Add(s1, word(i + bytes));
    s2 = hn::Add(s2, word(i + 2 * bytes));
    s3 = hn::Add(s3, word(i + 3 * bytes));
  }
  s = hn::GetLane(hn::SumOfLanes(d64, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
#endif
  for (; i < n; i += 8) {
    uint64_t w = 0;
    for (int64_t j = 0; j < 8 && i + j < n; ++j) w |= uint64_t{p[i + j]} << (8 * j);
    s += w;
  }
  return s;
}

void RopeToken(float* x, const RopeArgs& a, const float* cos_t, const float* sin_t) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const int64_t half = a.rot_dim / 2;
  for (int64_t h = 0; h < a.heads; ++h) {
    float* v = x + h * a.head_dim;
    if (a.traditional) {
      for (int64_t i = 0; i < half; ++i) {
        const float x0 = v[2 * i], x1 = v[2 * i + 1];
        v[2 * i] = x0 * cos_t[i] - x1 * sin_t[i];
        v[2 * i + 1] = x1 * cos_t[i] + x0 * sin_t[i];
      }
      continue;
    }
    int64_t i = 0;
    for (; i + lanes <= half; i += lanes) {
      const VF x0 = hn::LoadU(df, v + i), x1 = hn::LoadU(df, v + half + i);
      const VF c = hn::LoadU(df, cos_t + i), s = hn::LoadU(df, sin_t + i);
      hn::StoreU(hn::NegMulAdd(x1, s, hn::Mul(x0, c)), df, v + i);
      hn::StoreU(hn::MulAdd(x0, s, hn::Mul(x1, c)), df, v + half + i);
    }
    for (; i < half; ++i) {
      const float x0 = v[i], x1 = v[i + half];
      v[i] = x0 * cos_t[i] - x1 * sin_t[i];
      v[i + half] = x1 * cos_t[i] + x0 * sin_t[i];
    }
  }
}

}  // namespace mlxlm::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mlxlm::kernels::simd {

HWY_EXPORT(RmsNormRows);
HWY_EXPORT(SiluMul);
HWY_EXPORT(SoftmaxRows);
HWY_EXPORT(LogSumExp);
HWY_EXPORT(ArgMax);
HWY_EXPORT(AddInplace);
HWY_EXPORT(RopeToken);
HWY_EXPORT(Sum);
HWY_EXPORT(WordSum);

void rms_norm_rows(const float* x, const float* weight, float eps, int64_t rows, int64_t dim,
                   float* y) {
  HWY_DYNAMIC_DISPATCH(RmsNormRows)(x, weight, eps, rows, dim, y);
}
void silu_mul(const float* gate, const float* up, int64_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(SiluMul)(gate, up, n, out);
}
void softmax_rows(float* x, int64_t rows, int64_t n) {
  HWY_DYNAMIC_DISPATCH(SoftmaxRows)(x, rows, n);
}
float logsumexp(const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(LogSumExp)(x, n); }
int64_t argmax(const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(ArgMax)(x, n); }
void add_inplace(float* x, const float* y, int64_t n) { HWY_DYNAMIC_DISPATCH(AddInplace)(x, y, n); }
float sum(const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(Sum)(x, n); }
uint64_t word_sum(const uint8_t* p, int64_t n) { return HWY_DYNAMIC_DISPATCH(WordSum)(p, n); }
void rope_token(float* x, const RopeArgs& args, const float* cos_t, const float* sin_t) {
  HWY_DYNAMIC_DISPATCH(RopeToken)(x, args, cos_t, sin_t);
}

}  // namespace mlxlm::kernels::simd
#endif
