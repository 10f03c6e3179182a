// Element-wise and row-wise kernels (norms, activations, softmax, RoPE) and the attention
// inner loop, vectorised with Highway.
#include <cmath>
#include <limits>

#include "kernels/hwy/dispatch.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/hwy/ops_hwy.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// foreach_target.h must come before every other Highway header.
#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace mlxlm::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

HWY_INLINE float Dot(const float* a, const float* b, int64_t n) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  VF s0 = hn::Zero(df), s1 = hn::Zero(df);
  int64_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    s0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), s0);
    s1 = hn::MulAdd(hn::LoadU(df, a + i + lanes), hn::LoadU(df, b + i + lanes), s1);
  }
  for (; i + lanes <= n; i += lanes)
    s0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), s0);
  float s = hn::GetLane(hn::SumOfLanes(df, hn::Add(s0, s1)));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// y = a * x + y.
HWY_INLINE void Axpy(float a, const float* x, float* y, int64_t n) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const VF va = hn::Set(df, a);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(hn::MulAdd(va, hn::LoadU(df, x + i), hn::LoadU(df, y + i)), df, y + i);
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

HWY_INLINE void Scale(float a, float* x, int64_t n) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const VF va = hn::Set(df, a);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::Mul(va, hn::LoadU(df, x + i)), df, x + i);
  for (; i < n; ++i) x[i] *= a;
}

// x[i] = exp(x[i] - mx) for every i; returns the sum. -inf entries become 0.
HWY_INLINE float ExpShiftSum(float* x, int64_t n, float mx) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const VF vmx = hn::Set(df, mx);
  const VF lo = hn::Set(df, -87.0f);  // below this exp underflows; keeps -inf out of Exp
  VF sum = hn::Zero(df);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const VF d = hn::Sub(hn::LoadU(df, x + i), vmx);
    const VF e = hn::IfThenZeroElse(hn::Lt(d, lo), hn::Exp(df, hn::Max(d, lo)));
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

// scores[j] = scale * q . k_j for j in [j0, j1). Four keys per step share each load of q and
// keep four independent FMA chains in flight.
HWY_INLINE void KeyScores(const float* qv, const float* kh, int64_t hd, float scale, int64_t j0,
                          int64_t j1, float* scores) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t j = j0;
  if (hd % lanes == 0) {
    for (; j + 4 <= j1; j += 4) {
      const float* k0 = kh + j * hd;
      VF s0 = hn::Zero(df), s1 = hn::Zero(df), s2 = hn::Zero(df), s3 = hn::Zero(df);
      for (int64_t d = 0; d < hd; d += lanes) {
        const VF x = hn::LoadU(df, qv + d);
        s0 = hn::MulAdd(x, hn::LoadU(df, k0 + d), s0);
        s1 = hn::MulAdd(x, hn::LoadU(df, k0 + hd + d), s1);
        s2 = hn::MulAdd(x, hn::LoadU(df, k0 + 2 * hd + d), s2);
        s3 = hn::MulAdd(x, hn::LoadU(df, k0 + 3 * hd + d), s3);
      }
      scores[j] = hn::GetLane(hn::SumOfLanes(df, s0)) * scale;
      scores[j + 1] = hn::GetLane(hn::SumOfLanes(df, s1)) * scale;
      scores[j + 2] = hn::GetLane(hn::SumOfLanes(df, s2)) * scale;
      scores[j + 3] = hn::GetLane(hn::SumOfLanes(df, s3)) * scale;
    }
  }
  for (; j < j1; ++j) scores[j] = Dot(qv, kh + j * hd, hd) * scale;
}

// out += sum_j p[j] * v_j for j in [j0, j1). Four keys per step: each output vector is loaded
// and stored once per four keys, and the four products are summed as a tree, so the chain
// through `out` is one add per step instead of four dependent FMAs.
HWY_INLINE void WeightedValues(const float* p, const float* vh, int64_t vd, int64_t j0, int64_t j1,
                               float* out) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t j = j0;
  if (vd % lanes == 0) {
    for (; j + 4 <= j1; j += 4) {
      const float* v0 = vh + j * vd;
      const VF p0 = hn::Set(df, p[j]), p1 = hn::Set(df, p[j + 1]);
      const VF p2 = hn::Set(df, p[j + 2]), p3 = hn::Set(df, p[j + 3]);
      for (int64_t d = 0; d < vd; d += lanes) {
        const VF t01 =
            hn::MulAdd(p1, hn::LoadU(df, v0 + vd + d), hn::Mul(p0, hn::LoadU(df, v0 + d)));
        const VF t23 = hn::MulAdd(p3, hn::LoadU(df, v0 + 3 * vd + d),
                                  hn::Mul(p2, hn::LoadU(df, v0 + 2 * vd + d)));
        hn::StoreU(hn::Add(hn::LoadU(df, out + d), hn::Add(t01, t23)), df, out + d);
      }
    }
  }
  for (; j < j1; ++j) Axpy(p[j], vh + j * vd, out, vd);
}

void AttentionTasks(const AttentionArgs& a, int64_t t0, int64_t t1, float* scores) {
  const int64_t group = a.n_heads / a.n_kv_heads;
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t task = t0; task < t1; ++task) {
    const int64_t i = task / a.n_heads;
    const int64_t h = task % a.n_heads;
    const int64_t kvh = h / group;
    const float* qv = a.q + (i * a.n_heads + h) * a.head_dim;
    const float* kh = a.k + kvh * a.k_head_stride;
    const float* vh = a.v + kvh * a.v_head_stride;
    const int64_t pos = a.q_offset + i;
    // Without a mask the visible keys form one range; with one, masked keys score -inf.
    int64_t j0 = 0, j1 = a.kv_len;
    if (a.mask == nullptr) {
      j0 = std::max(a.kv_start, a.window > 0 ? pos - a.window + 1 : int64_t{0});
      j1 = std::min(a.kv_len, pos + 1);
    }
    float* out = a.out + (i * a.n_heads + h) * a.v_head_dim;
    for (int64_t d = 0; d < a.v_head_dim; ++d) out[d] = 0.0f;
    if (j1 <= j0) continue;
    KeyScores(qv, kh, a.head_dim, a.scale, j0, j1, scores);
    if (a.mask != nullptr) {
      for (int64_t j = j0; j < j1; ++j) {
        if (a.mask[i * a.kv_len + j] == 0) scores[j] = ninf;
      }
    }
    const float mx = MaxOf(scores + j0, j1 - j0);
    if (mx == ninf) continue;
    // Masked keys get exactly 0 here, so they add nothing below.
    const float sum = ExpShiftSum(scores + j0, j1 - j0, mx);
    WeightedValues(scores, vh, a.v_head_dim, j0, j1, out);
    Scale(1.0f / sum, out, a.v_head_dim);
  }
}

}  // namespace mlxlm::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mlxlm::kernels::simd {

HWY_EXPORT(RmsNormRows);
HWY_EXPORT(SiluMul);
HWY_EXPORT(SoftmaxRows);
HWY_EXPORT(AddInplace);
HWY_EXPORT(RopeToken);
HWY_EXPORT(Sum);
HWY_EXPORT(AttentionTasks);

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
void add_inplace(float* x, const float* y, int64_t n) { HWY_DYNAMIC_DISPATCH(AddInplace)(x, y, n); }
float sum(const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(Sum)(x, n); }
void rope_token(float* x, const RopeArgs& args, const float* cos_t, const float* sin_t) {
  HWY_DYNAMIC_DISPATCH(RopeToken)(x, args, cos_t, sin_t);
}
void attention_tasks(const AttentionArgs& args, int64_t task_begin, int64_t task_end,
                     float* scratch) {
  HWY_DYNAMIC_DISPATCH(AttentionTasks)(args, task_begin, task_end, scratch);
}

}  // namespace mlxlm::kernels::simd
#endif
