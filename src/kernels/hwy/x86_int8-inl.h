// x86 int8 dot-product primitives of the quantized matmul (AVX2 maddubs, AVX-512 VNNI dpbusd),
// included once per SIMD target by quant_matmul_hwy.cc.
#if defined(MLXLM_KERNELS_X86_INT8_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MLXLM_KERNELS_X86_INT8_INL_H_
#undef MLXLM_KERNELS_X86_INT8_INL_H_
#else
#define MLXLM_KERNELS_X86_INT8_INL_H_
#endif

#include <hwy/highway.h>

#include "kernels/hwy/avx512_vnni.h"

#include "kernels/hwy/quant_codes.h"
#include "tensor/dtype.h"

HWY_BEFORE_NAMESPACE();
#if HWY_TARGET == HWY_AVX3_DL
MLXLM_AVX512_VNNI_BEGIN
#endif
namespace mlxlm::kernels::HWY_NAMESPACE {
namespace q = qdetail;

#undef MLXLM_X86_INT8
#undef MLXLM_VNNI
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#define MLXLM_X86_INT8 1
#else
#define MLXLM_X86_INT8 0
#endif
#if HWY_TARGET == HWY_AVX3_DL
#define MLXLM_VNNI 1
#else
#define MLXLM_VNNI 0
#endif

// Whether 8-bit codes are shifted to signed (q - 128) so that maddubs cannot saturate; the
// shift is undone through the bias term (bias + 128 * scale).
constexpr bool kShift8 = MLXLM_X86_INT8 && !MLXLM_VNNI;

#if MLXLM_X86_INT8
template <int F>
HWY_INLINE __m256i Unpack(const uint8_t* p) {
  if constexpr (F == 2) {
    const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    const __m128i lo = _mm_unpacklo_epi64(v, _mm_srli_epi16(v, 2));
    const __m128i hi = _mm_unpacklo_epi64(_mm_srli_epi16(v, 4), _mm_srli_epi16(v, 6));
    return _mm256_and_si256(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(3));
  } else if constexpr (F == 4 || F == q::kFmtFp4) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i m = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
  } else {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    if constexpr (F == 8 && kShift8) v = _mm256_xor_si256(v, _mm256_set1_epi8(-128));
    return v;
  }
}

HWY_INLINE __m256i Fp4Values(__m256i codes) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12, 0,
                                       1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
  return _mm256_shuffle_epi8(lut, codes);
}

// Weight codes are prefetched this far ahead of the block being multiplied. Decoding streams
// every weight from DRAM, and the hardware prefetchers stop at each 4 KiB page boundary and
// ramp up again; prefetching several pages ahead took 4-bit rows from 6.5 to 10 GB/s on one
// core of the dev machine (matmul_bench BM_MatvecFromDram).
constexpr int64_t kPrefetchBytes = 16384;

// Eight partial int32 sums of w·x; `wu` is |w| when the codes are signed.
template <bool kSigned>
HWY_INLINE __m256i DotBlock(__m256i wu, __m256i w, __m256i x) {
  if constexpr (kSigned) x = _mm256_sign_epi8(x, w);
#if MLXLM_VNNI
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), wu, x);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(wu, x), _mm256_set1_epi16(1));
#endif
}

// The same over two blocks at once (w1/x1 the second operand pair), summed lane-wise.
template <bool kSigned>
HWY_INLINE __m256i DotPair(__m256i wu0, __m256i w0, __m256i x0, __m256i wu1, __m256i w1,
                           __m256i x1) {
  if constexpr (kSigned) {
    x0 = _mm256_sign_epi8(x0, w0);
    x1 = _mm256_sign_epi8(x1, w1);
  }
#if MLXLM_VNNI
  return _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), wu0, x0), wu1, x1);
#else
  // Each maddubs lane is at most 2 * 15 * 127 (or 2 * 12 * 127 for fp4): the int16 sum of two
  // cannot overflow.
  const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(wu0, x0), _mm256_maddubs_epi16(wu1, x1));
  return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
#endif
}

// Two rows' lane-wise int32 partial sums of the same blocks, folded into one vector:
// [p0_0 + p0_2, p1_0 + p1_2, p0_1 + p0_3, p1_1 + p1_3] in each 128-bit lane (exact in int32).
HWY_INLINE __m256i FoldRows(__m256i p0, __m256i p1) {
  return _mm256_add_epi32(_mm256_unpacklo_epi32(p0, p1), _mm256_unpackhi_epi32(p0, p1));
}

HWY_INLINE float HSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Sums of the even and of the odd lanes of v.
HWY_INLINE void HSumEvenOdd(__m256 v, float& even, float& odd) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  even = _mm_cvtss_f32(s);
  odd = _mm_cvtss_f32(_mm_movehdup_ps(s));
}

// Eight consecutive scales as f32.
template <DType SD>
HWY_INLINE __m256 LoadScales8(const void* base, int64_t i) {
  const auto* p = static_cast<const uint8_t*>(base);
  if constexpr (SD == DType::F32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(p + i * 4));
  } else if constexpr (SD == DType::BF16) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i * 2));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  } else {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i * 2)));
  }
}
#endif  // MLXLM_X86_INT8

#if MLXLM_VNNI
// The 512-bit FoldRows: two vectors' int32 sums folded into one: per 128-bit lane [p0 pair, p1
// pair, p0 pair, p1 pair] (exact in int32), so that even lanes hold p0's blocks and odd lanes p1's.
HWY_INLINE __m512i Fold512(__m512i p0, __m512i p1) {
  return _mm512_add_epi32(_mm512_unpacklo_epi32(p0, p1), _mm512_unpackhi_epi32(p0, p1));
}

// 4-bit row pairs four blocks at a time in 512-bit vectors (AVX3_DL): one block per 128-bit
// lane, the pair's int32 sums folded as in FoldRows, so each lane holds [row 0, row 1, row 0,
// row 1] sums of its block. Single activation rows of under 1024 columns take this path, and
// tiles of several rows whose blocks do not pair up (the others take row_lanes-inl.h). Twice the
// multiply-adds per instruction of the 256-bit steps, which bound decoding's 4-bit rows on CPUs
// with full-width AVX-512 (Zen 5, k = 2048, m = 1: 57 -> 77 G multiply-adds/s per core).
struct Nibble512 {
  __m512i scale_idx;    // lane -> its float among the scale pairs loaded at the first group
  __m512i block_idx;    // lane -> its block (0 .. 3)
  __mmask16 pair_mask;  // the scale pairs four blocks span
  // group_shift = log2(blocks per group), at most 2 (groups of 32, 64 or 128).
  explicit Nibble512(int group_shift) {
    alignas(64) int32_t si[16], bi[16];
    for (int l = 0; l < 16; ++l) {
      si[l] = 2 * ((l / 4) >> group_shift) + (l & 1);
      bi[l] = l / 4;
    }
    scale_idx = _mm512_load_si512(si);
    block_idx = _mm512_load_si512(bi);
    pair_mask = static_cast<__mmask16>((1u << (2 * (4 >> group_shift))) - 1);
  }
};

// acc[i] += blocks b .. b + 3 of rows (c0, c1) against activation row xq[i] (CodeOrder::Nibbles:
// per block pair, both blocks' even values, then both blocks' odd values) with block scales
// xs[i]; `wpair` is the rows' interleaved scale pairs [groups][2], b a multiple of 4.
template <int M>
HWY_INLINE void NibbleQuad(const uint8_t* c0, const uint8_t* c1, const int8_t* const* xq,
                           const float* const* xs, int64_t b, const float* wpair, int group_shift,
                           const Nibble512& k, __m512* acc) {
  const __m512i m = _mm512_set1_epi8(0x0F);
  _mm_prefetch(reinterpret_cast<const char*>(c0 + b * 16 + kPrefetchBytes), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(c1 + b * 16 + kPrefetchBytes), _MM_HINT_T0);
  const __m512i v0 = _mm512_loadu_si512(c0 + b * 16);
  const __m512i v1 = _mm512_loadu_si512(c1 + b * 16);
  const __m512i lo0 = _mm512_and_si512(v0, m), hi0 = _mm512_and_si512(_mm512_srli_epi16(v0, 4), m);
  const __m512i lo1 = _mm512_and_si512(v1, m), hi1 = _mm512_and_si512(_mm512_srli_epi16(v1, 4), m);
  const __m512 ws = _mm512_permutexvar_ps(
      k.scale_idx, _mm512_maskz_loadu_ps(k.pair_mask, wpair + 2 * (b >> group_shift)));
  for (int i = 0; i < M; ++i) {
    const int8_t* x = xq[i] + b * 32;
    auto half = [](const int8_t* p) {
      return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    };
    const __m512i xe = _mm512_inserti64x4(_mm512_castsi256_si512(half(x)), half(x + 64), 1);
    const __m512i xo = _mm512_inserti64x4(_mm512_castsi256_si512(half(x + 32)), half(x + 96), 1);
    const __m512i z = _mm512_setzero_si512();
    const __m512i p0 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z, lo0, xe), hi0, xo);
    const __m512i p1 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z, lo1, xe), hi1, xo);
    const __m512 xsv =
        _mm512_permutexvar_ps(k.block_idx, _mm512_castps128_ps512(_mm_loadu_ps(xs[i] + b)));
    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(Fold512(p0, p1)), _mm512_mul_ps(xsv, ws), acc[i]);
  }
}

// Which block of a step each f32 lane holds after the fold, and so which group scale and
// activation block scale it takes.
struct LaneBlocks {
  __m512i group_idx;     // lane -> its group among those loaded at the step's first group
  __m512i block_idx;     // lane -> its block among the step's blocks
  __mmask16 group_mask;  // the groups the step spans
  __mmask16 block_mask;  // the step's blocks
  // group_shift = log2(blocks per group), at most 2 (groups of 32, 64 or 128); `blocks` per
  // step, a multiple of 1 << group_shift.
  template <typename BlockOfLane>
  LaneBlocks(int blocks, int group_shift, BlockOfLane block_of_lane) {
    alignas(64) int32_t gi[16], bi[16];
    for (int l = 0; l < 16; ++l) {
      bi[l] = block_of_lane(l);
      gi[l] = bi[l] >> group_shift;
    }
    group_idx = _mm512_load_si512(gi);
    block_idx = _mm512_load_si512(bi);
    group_mask = static_cast<__mmask16>((1u << (blocks >> group_shift)) - 1);
    block_mask = static_cast<__mmask16>((1u << blocks) - 1);
  }
  // The f32 factor scale_g * xscale_b of every lane, for the step at block b.
  HWY_INLINE __m512 Scales(const float* wrow, const float* xs, int64_t b, int group_shift) const {
    const __m512 ws = _mm512_permutexvar_ps(
        group_idx, _mm512_maskz_loadu_ps(group_mask, wrow + (b >> group_shift)));
    const __m512 xsv = _mm512_permutexvar_ps(block_idx, _mm512_maskz_loadu_ps(block_mask, xs + b));
    return _mm512_mul_ps(ws, xsv);
  }
};

// The lane layout of NibbleOct: lane l of 128-bit lane q holds block q (even l) or 4 + q.
inline LaneBlocks NibbleLanes(int group_shift) {
  return LaneBlocks(8, group_shift, [](int l) { return (l & 1) ? 4 + l / 4 : l / 4; });
}

// 4-bit rows one at a time (see SingleRows), eight blocks per step in two 512-bit vectors: one
// block per 128-bit lane, the two vectors' int32 sums folded by Fold512, so each 128-bit lane q
// holds [block q, block 4 + q, block q, block 4 + q] sums.
// acc[i] += blocks b .. b + 7 of the row `c` against activation row xq[i] (CodeOrder::Nibbles:
// per block pair, both blocks' even values, then both blocks' odd values) with block scales
// xs[i]; `wrow` is the row's group scales as f32, b a multiple of 8.
template <int M>
HWY_INLINE void NibbleOct(const uint8_t* c, const int8_t* const* xq, const float* const* xs,
                          int64_t b, const float* wrow, int group_shift, const LaneBlocks& k,
                          __m512* acc) {
  const __m512i m = _mm512_set1_epi8(0x0F);
  const uint8_t* p = c + b * 16;
  _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchBytes), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(p + 64 + kPrefetchBytes), _MM_HINT_T0);
  const __m512i v0 = _mm512_loadu_si512(p);
  const __m512i v1 = _mm512_loadu_si512(p + 64);
  const __m512i lo0 = _mm512_and_si512(v0, m), hi0 = _mm512_and_si512(_mm512_srli_epi16(v0, 4), m);
  const __m512i lo1 = _mm512_and_si512(v1, m), hi1 = _mm512_and_si512(_mm512_srli_epi16(v1, 4), m);
  auto half = [](const int8_t* q) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
  };
  auto join = [&](const int8_t* q0, const int8_t* q1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(half(q0)), half(q1), 1);
  };
  for (int i = 0; i < M; ++i) {
    const int8_t* x = xq[i] + b * 32;
    const __m512i z = _mm512_setzero_si512();
    const __m512i p0 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z, lo0, join(x, x + 64)), hi0,
                                           join(x + 32, x + 96));
    const __m512i p1 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z, lo1, join(x + 128, x + 192)), hi1,
                                           join(x + 160, x + 224));
    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(Fold512(p0, p1)),
                             k.Scales(wrow, xs[i], b, group_shift), acc[i]);
  }
}

// The lane layout of ByteQuad: 128-bit lanes 0, 1 hold block 0 (even l) or 2, lanes 2, 3 block
// 1 or 3.
inline LaneBlocks ByteLanes(int group_shift) {
  return LaneBlocks(4, group_shift, [](int l) { return ((l & 1) ? 2 : 0) + (l >= 8 ? 1 : 0); });
}

// acc[i] += blocks b .. b + 3 of the 8-bit row `c` against activation row xq[i]
// (CodeOrder::Natural); b a multiple of 4.
template <int M>
HWY_INLINE void ByteQuad(const uint8_t* c, const int8_t* const* xq, const float* const* xs,
                         int64_t b, const float* wrow, int group_shift, const LaneBlocks& k,
                         __m512* acc) {
  const uint8_t* p = c + b * 32;
  _mm_prefetch(reinterpret_cast<const char*>(p + kPrefetchBytes), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(p + 64 + kPrefetchBytes), _MM_HINT_T0);
  const __m512i v0 = _mm512_loadu_si512(p);
  const __m512i v1 = _mm512_loadu_si512(p + 64);
  for (int i = 0; i < M; ++i) {
    const int8_t* x = xq[i] + b * 32;
    const __m512i z = _mm512_setzero_si512();
    const __m512i p0 = _mm512_dpbusd_epi32(z, v0, _mm512_loadu_si512(x));
    const __m512i p1 = _mm512_dpbusd_epi32(z, v1, _mm512_loadu_si512(x + 64));
    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(Fold512(p0, p1)),
                             k.Scales(wrow, xs[i], b, group_shift), acc[i]);
  }
}

// acc[i] += block b of the 8-bit row `c` (the blocks ByteQuad leaves).
template <int M>
HWY_INLINE void ByteBlock(const uint8_t* c, const int8_t* const* xq, const float* const* xs,
                          int64_t b, const float* wrow, int group_shift, __m256* acc) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + b * 32));
  const float ws = wrow[b >> group_shift];
  for (int i = 0; i < M; ++i) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[i] + b * 32));
    acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(DotBlock<false>(v, v, x)),
                             _mm256_set1_ps(ws * xs[i][b]), acc[i]);
  }
}

// acc[i] += blocks b and b + 1 of the row `c` (the steps NibbleOct leaves), b even.
template <int M>
HWY_INLINE void NibblePair(const uint8_t* c, const int8_t* const* xq, const float* const* xs,
                           int64_t b, const float* wrow, int group_shift, __m256* acc) {
  const __m256i m = _mm256_set1_epi8(0x0F);
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + b * 16));
  const __m256i lo = _mm256_and_si256(v, m), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
  const __m256 ws = _mm256_set_m128(_mm_set1_ps(wrow[(b + 1) >> group_shift]),
                                    _mm_set1_ps(wrow[b >> group_shift]));
  for (int i = 0; i < M; ++i) {
    const int8_t* x = xq[i] + b * 32;
    const __m256i xe = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
    const __m256i xo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32));
    const __m256 xsv = _mm256_set_m128(_mm_set1_ps(xs[i][b + 1]), _mm_set1_ps(xs[i][b]));
    acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(DotPair<false>(lo, lo, xe, hi, hi, xo)),
                             _mm256_mul_ps(xsv, ws), acc[i]);
  }
}
#endif  // MLXLM_VNNI

}  // namespace mlxlm::kernels::HWY_NAMESPACE
#if HWY_TARGET == HWY_AVX3_DL
MLXLM_AVX512_VNNI_END
#endif
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
