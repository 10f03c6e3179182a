// Decoding attention's building blocks, included once per SIMD target by attention_hwy.cc:
// scores and weighted values of one query head (KeyScores, WeightedValues), and of a set of up
// to kDecodeHeads query heads that share a kv head (HeadSet), which load and convert each key
// and value row once for all of them.
#if defined(MLXLM_KERNELS_DECODE_ATTENTION_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLXLM_KERNELS_DECODE_ATTENTION_INL_H_
#undef MLXLM_KERNELS_DECODE_ATTENTION_INL_H_
#else
#define MLXLM_KERNELS_DECODE_ATTENTION_INL_H_
#endif

#include <algorithm>
#include <cstdint>

#include <hwy/highway.h>

#include "kernels/hwy/dispatch.h"
#include "kernels/hwy/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace mlxlm::kernels::HWY_NAMESPACE {

#if HWY_TARGET == HWY_AVX2
// The lane sums of four vectors, [sum s0, sum s1, sum s2, sum s3]: two rounds of pairwise adds
// serve all four, where reducing each alone costs five shuffles and adds (Highway's
// SumOfLanes also broadcasts the sum back).
HWY_INLINE __m128 SumsOfFour(__m256 s0, __m256 s1, __m256 s2, __m256 s3) {
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(s0, s1), _mm256_hadd_ps(s2, s3));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}
#endif

// scores[j] = scale * q . k_j for j in [j0, j1). Four keys per step share each load of q and
// keep four independent FMA chains in flight.
template <DType KD>
HWY_INLINE void KeyScores(const float* qv, const KvType<KD>* kh, int64_t hd, float scale,
                          int64_t j0, int64_t j1, float* scores) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t j = j0;
  if (hd % lanes == 0) {
    for (; j + 4 <= j1; j += 4) {
      const KvType<KD>* k0 = kh + j * hd;
      VF s0 = hn::Zero(df), s1 = hn::Zero(df), s2 = hn::Zero(df), s3 = hn::Zero(df);
      for (int64_t d = 0; d < hd; d += lanes) {
        const VF x = hn::LoadU(df, qv + d);
        s0 = hn::MulAdd(x, KvLoad<KD>(df, k0 + d), s0);
        s1 = hn::MulAdd(x, KvLoad<KD>(df, k0 + hd + d), s1);
        s2 = hn::MulAdd(x, KvLoad<KD>(df, k0 + 2 * hd + d), s2);
        s3 = hn::MulAdd(x, KvLoad<KD>(df, k0 + 3 * hd + d), s3);
      }
#if HWY_TARGET == HWY_AVX2
      _mm_storeu_ps(scores + j,
                    _mm_mul_ps(SumsOfFour(s0.raw, s1.raw, s2.raw, s3.raw), _mm_set1_ps(scale)));
#else
      scores[j] = hn::GetLane(hn::SumOfLanes(df, s0)) * scale;
      scores[j + 1] = hn::GetLane(hn::SumOfLanes(df, s1)) * scale;
      scores[j + 2] = hn::GetLane(hn::SumOfLanes(df, s2)) * scale;
      scores[j + 3] = hn::GetLane(hn::SumOfLanes(df, s3)) * scale;
#endif
    }
  }
  for (; j < j1; ++j) scores[j] = Dot<KD>(qv, kh + j * hd, hd) * scale;
}

// out += sum_j p[j] * v_j for j in [j0, j1). Four keys per step: each output vector is loaded
// and stored once per four keys, and the four products are summed as a tree, so the chain
// through `out` is one add per step instead of four dependent FMAs.
template <DType KD>
HWY_INLINE void WeightedValues(const float* p, const KvType<KD>* vh, int64_t vd, int64_t j0,
                               int64_t j1, float* out) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t j = j0;
  if (vd % lanes == 0) {
    for (; j + 4 <= j1; j += 4) {
      const KvType<KD>* v0 = vh + j * vd;
      const VF p0 = hn::Set(df, p[j]), p1 = hn::Set(df, p[j + 1]);
      const VF p2 = hn::Set(df, p[j + 2]), p3 = hn::Set(df, p[j + 3]);
      for (int64_t d = 0; d < vd; d += lanes) {
        const VF t01 =
            hn::MulAdd(p1, KvLoad<KD>(df, v0 + vd + d), hn::Mul(p0, KvLoad<KD>(df, v0 + d)));
        const VF t23 = hn::MulAdd(p3, KvLoad<KD>(df, v0 + 3 * vd + d),
                                  hn::Mul(p2, KvLoad<KD>(df, v0 + 2 * vd + d)));
        hn::StoreU(hn::Add(hn::LoadU(df, out + d), hn::Add(t01, t23)), df, out + d);
      }
    }
  }
  for (; j < j1; ++j) Axpy<KD>(p[j], vh + j * vd, out, vd);
}

// Up to kDecodeHeads query heads of one row that share a kv head (grouped-query attention):
// each key and value row is loaded and converted once for all of them. Entries past `heads`
// repeat the last head (the same scores buffer) and are not written out.
struct HeadSet {
  const float* q[kDecodeHeads];
  float* scores[kDecodeHeads];
  float* out[kDecodeHeads];
  float inv[kDecodeHeads];
  int heads;
};

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// The 16 lane sums of acc[g][c] (head g, key c), reduced together: each shuffle and add serves
// two to four sums, where reducing each vector alone takes 8 operations. Returns head g's four
// sums in 128-bit lane g, keys in order.
HWY_INLINE __m512 SumsOfFourByFour(const __m512 (&acc)[4][4]) {
  __m512 u[4];
  for (int g = 0; g < 4; ++g) {
    auto halves = [&](__m512 x, __m512 y) {  // 128-bit lanes: x 0+2, x 1+3, y 0+2, y 1+3
      return _mm512_add_ps(_mm512_shuffle_f32x4(x, y, 0x44), _mm512_shuffle_f32x4(x, y, 0xEE));
    };
    const __m512 t01 = halves(acc[g][0], acc[g][1]), t23 = halves(acc[g][2], acc[g][3]);
    // 128-bit lane c: four partial sums of key c.
    u[g] =
        _mm512_add_ps(_mm512_shuffle_f32x4(t01, t23, 0x88), _mm512_shuffle_f32x4(t01, t23, 0xDD));
  }
  const __m512 p01 = _mm512_add_ps(_mm512_unpacklo_ps(u[0], u[1]), _mm512_unpackhi_ps(u[0], u[1]));
  const __m512 p23 = _mm512_add_ps(_mm512_unpacklo_ps(u[2], u[3]), _mm512_unpackhi_ps(u[2], u[3]));
  // 128-bit lane c: the sums of heads 0-3 for key c.
  const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(p01, p23, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm512_shuffle_ps(p01, p23, _MM_SHUFFLE(3, 2, 3, 2)));
  const __m512i by_head = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_ps(by_head, r);
}

// HeadSetScores for keys [j0, j0 + 4 * blocks) in blocks of four keys: 16 dot products per
// block, reduced by SumsOfFourByFour. Returns the first key not done.
template <DType KD>
HWY_INLINE int64_t HeadSetScoresByFour(const HeadSet& hs, const KvType<KD>* kh, int64_t hd,
                                       float scale, int64_t j0, int64_t j1) {
  const DF df;
  const __m512 vscale = _mm512_set1_ps(scale);
  int64_t j = j0;
  for (; j + 4 <= j1; j += 4) {
    __m512 acc[4][4] = {};
    for (int64_t d = 0; d < hd; d += 16) {
      __m512 k[4];
      for (int c = 0; c < 4; ++c) k[c] = KvLoad<KD>(df, kh + (j + c) * hd + d).raw;
      for (int g = 0; g < 4; ++g) {
        const __m512 q = _mm512_loadu_ps(hs.q[g] + d);
        for (int c = 0; c < 4; ++c) acc[g][c] = _mm512_fmadd_ps(q, k[c], acc[g][c]);
      }
    }
    const __m512 sums = _mm512_mul_ps(SumsOfFourByFour(acc), vscale);
    _mm_storeu_ps(hs.scores[0] + j, _mm512_castps512_ps128(sums));
    _mm_storeu_ps(hs.scores[1] + j, _mm512_extractf32x4_ps(sums, 1));
    _mm_storeu_ps(hs.scores[2] + j, _mm512_extractf32x4_ps(sums, 2));
    _mm_storeu_ps(hs.scores[3] + j, _mm512_extractf32x4_ps(sums, 3));
  }
  return j;
}
#endif

#if HWY_TARGET == HWY_AVX2
// HeadSetScores for keys [j0, j0 + 2 * pairs) two keys at a time: each load of a head's query
// serves both keys (8 accumulators), and SumsOfFour reduces each key's four sums together.
// Returns the first key not done.
template <DType KD, int H>
HWY_INLINE int64_t HeadSetScoresByTwo(const HeadSet& hs, const KvType<KD>* kh, int64_t hd,
                                      float scale, int64_t j0, int64_t j1) {
  const DF df;
  const __m128 vscale = _mm_set1_ps(scale);
  int64_t j = j0;
  for (; j + 2 <= j1; j += 2) {
    const KvType<KD>* k0 = kh + j * hd;
    __m256 a[4], b[4];
    for (int g = 0; g < 4; ++g) a[g] = b[g] = _mm256_setzero_ps();
    for (int64_t d = 0; d < hd; d += 8) {
      const __m256 ka = KvLoad<KD>(df, k0 + d).raw, kb = KvLoad<KD>(df, k0 + hd + d).raw;
      for (int g = 0; g < H; ++g) {
        const __m256 q = _mm256_loadu_ps(hs.q[g] + d);
        a[g] = _mm256_fmadd_ps(q, ka, a[g]);
        b[g] = _mm256_fmadd_ps(q, kb, b[g]);
      }
    }
    alignas(16) float sa[4], sb[4];
    _mm_store_ps(sa, _mm_mul_ps(SumsOfFour(a[0], a[1], a[2], a[3]), vscale));
    _mm_store_ps(sb, _mm_mul_ps(SumsOfFour(b[0], b[1], b[2], b[3]), vscale));
    for (int g = 0; g < H; ++g) {  // heads past H share the last one's scores
      hs.scores[g][j] = sa[g];
      hs.scores[g][j + 1] = sb[g];
    }
  }
  return j;
}
#endif

// scores[g][j] = scale * q_g . k_j for j in [j0, j1) and the four heads g.
template <DType KD>
HWY_INLINE void HeadSetScores(const HeadSet& hs, const KvType<KD>* kh, int64_t hd, float scale,
                              int64_t j0, int64_t j1) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  if (hs.heads == 1 || hd % lanes != 0) {
    for (int g = 0; g < hs.heads; ++g) KeyScores<KD>(hs.q[g], kh, hd, scale, j0, j1, hs.scores[g]);
    return;
  }
  int64_t j = j0;
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  j = HeadSetScoresByFour<KD>(hs, kh, hd, scale, j0, j1);
#elif HWY_TARGET == HWY_AVX2
  // Only the set's heads: SmolLM2's groups of 3 would otherwise spend a quarter on a copy.
  if (hs.heads == 2) j = HeadSetScoresByTwo<KD, 2>(hs, kh, hd, scale, j0, j1);
  if (hs.heads == 3) j = HeadSetScoresByTwo<KD, 3>(hs, kh, hd, scale, j0, j1);
  if (hs.heads == 4) j = HeadSetScoresByTwo<KD, 4>(hs, kh, hd, scale, j0, j1);
#endif
  for (; j < j1; ++j) {
    const KvType<KD>* kj = kh + j * hd;
    VF s0 = hn::Zero(df), s1 = hn::Zero(df), s2 = hn::Zero(df), s3 = hn::Zero(df);
    for (int64_t d = 0; d < hd; d += lanes) {
      const VF k = KvLoad<KD>(df, kj + d);
      s0 = hn::MulAdd(hn::LoadU(df, hs.q[0] + d), k, s0);
      s1 = hn::MulAdd(hn::LoadU(df, hs.q[1] + d), k, s1);
      s2 = hn::MulAdd(hn::LoadU(df, hs.q[2] + d), k, s2);
      s3 = hn::MulAdd(hn::LoadU(df, hs.q[3] + d), k, s3);
    }
    hs.scores[0][j] = hn::GetLane(hn::SumOfLanes(df, s0)) * scale;
    hs.scores[1][j] = hn::GetLane(hn::SumOfLanes(df, s1)) * scale;
    hs.scores[2][j] = hn::GetLane(hn::SumOfLanes(df, s2)) * scale;
    hs.scores[3][j] = hn::GetLane(hn::SumOfLanes(df, s3)) * scale;
  }
}

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// HeadSetValues for the value features [0, 64 * (vd / 64)), 64 at a time: each key's four
// probabilities are broadcast once for all four vectors of its features (16 accumulators),
// where one feature vector at a time broadcasts them four times. Returns the first feature not
// done.
template <DType KD>
HWY_INLINE int64_t HeadSetValuesBy64(const HeadSet& hs, const KvType<KD>* vh, int64_t vd,
                                     int64_t j0, int64_t j1) {
  const DF df;
  int64_t d0 = 0;
  for (; d0 + 64 <= vd; d0 += 64) {
    __m512 acc[4][4] = {};
    for (int64_t j = j0; j < j1; ++j) {
      __m512 v[4];
      for (int c = 0; c < 4; ++c) v[c] = KvLoad<KD>(df, vh + j * vd + d0 + 16 * c).raw;
      for (int g = 0; g < 4; ++g) {
        const __m512 p = _mm512_set1_ps(hs.scores[g][j]);
        for (int c = 0; c < 4; ++c) acc[g][c] = _mm512_fmadd_ps(p, v[c], acc[g][c]);
      }
    }
    for (int g = 0; g < hs.heads; ++g) {
      const __m512 inv = _mm512_set1_ps(hs.inv[g]);
      for (int c = 0; c < 4; ++c) {
        _mm512_storeu_ps(hs.out[g] + d0 + 16 * c, _mm512_mul_ps(acc[g][c], inv));
      }
    }
  }
  return d0;
}
#endif

// out_g = inv_g * sum_j p_g[j] * v_j over keys [j0, j1) and features [d0, vd) for the first H
// heads of the set. Two keys per step in separate sums keep 2 * H FMA chains in flight.
template <DType KD, int H>
HWY_INLINE void HeadSetValuesFrom(const HeadSet& hs, const KvType<KD>* vh, int64_t vd, int64_t j0,
                                  int64_t j1, int64_t d0) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  const float* p0 = hs.scores[0];
  const float* p1 = hs.scores[1];
  const float* p2 = hs.scores[2];
  const float* p3 = hs.scores[3];
  for (int64_t d = d0; d < vd; d += lanes) {
    VF a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
    VF b0 = hn::Zero(df), b1 = hn::Zero(df), b2 = hn::Zero(df), b3 = hn::Zero(df);
    int64_t j = j0;
    for (; j + 2 <= j1; j += 2) {
      const VF v = KvLoad<KD>(df, vh + j * vd + d), w = KvLoad<KD>(df, vh + (j + 1) * vd + d);
      a0 = hn::MulAdd(hn::Set(df, p0[j]), v, a0);
      a1 = hn::MulAdd(hn::Set(df, p1[j]), v, a1);
      b0 = hn::MulAdd(hn::Set(df, p0[j + 1]), w, b0);
      b1 = hn::MulAdd(hn::Set(df, p1[j + 1]), w, b1);
      if constexpr (H >= 3) {
        a2 = hn::MulAdd(hn::Set(df, p2[j]), v, a2);
        b2 = hn::MulAdd(hn::Set(df, p2[j + 1]), w, b2);
      }
      if constexpr (H >= 4) {
        a3 = hn::MulAdd(hn::Set(df, p3[j]), v, a3);
        b3 = hn::MulAdd(hn::Set(df, p3[j + 1]), w, b3);
      }
    }
    if (j < j1) {
      const VF v = KvLoad<KD>(df, vh + j * vd + d);
      a0 = hn::MulAdd(hn::Set(df, p0[j]), v, a0);
      a1 = hn::MulAdd(hn::Set(df, p1[j]), v, a1);
      if constexpr (H >= 3) a2 = hn::MulAdd(hn::Set(df, p2[j]), v, a2);
      if constexpr (H >= 4) a3 = hn::MulAdd(hn::Set(df, p3[j]), v, a3);
    }
    // No arrays of vectors: SVE's vectors are sizeless.
    auto put = [&](int g, VF x, VF y) {
      if (g < H) hn::StoreU(hn::Mul(hn::Add(x, y), hn::Set(df, hs.inv[g])), df, hs.out[g] + d);
    };
    put(0, a0, b0);
    put(1, a1, b1);
    put(2, a2, b2);
    put(3, a3, b3);
  }
}

// out_g = inv_g * sum_j p_g[j] * v_j over keys [j0, j1) for the set's heads.
template <DType KD>
HWY_INLINE void HeadSetValues(const HeadSet& hs, const KvType<KD>* vh, int64_t vd, int64_t j0,
                              int64_t j1) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  if (hs.heads == 1 || vd % lanes != 0) {
    for (int g = 0; g < hs.heads; ++g) {
      std::fill(hs.out[g], hs.out[g] + vd, 0.0f);
      WeightedValues<KD>(hs.scores[g], vh, vd, j0, j1, hs.out[g]);
      Scale(hs.inv[g], hs.out[g], vd);
    }
    return;
  }
  int64_t d = 0;
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  d = HeadSetValuesBy64<KD>(hs, vh, vd, j0, j1);
#endif
  // Only the set's heads: SmolLM2's groups of 3 would otherwise spend a quarter on a copy.
  if (hs.heads == 2) HeadSetValuesFrom<KD, 2>(hs, vh, vd, j0, j1, d);
  if (hs.heads == 3) HeadSetValuesFrom<KD, 3>(hs, vh, vd, j0, j1, d);
  if (hs.heads == 4) HeadSetValuesFrom<KD, 4>(hs, vh, vd, j0, j1, d);
}

}  // namespace mlxlm::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
