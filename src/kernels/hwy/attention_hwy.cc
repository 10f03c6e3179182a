// Attention kernels. Decoding runs one (query row, kv head) task at a time, the query heads that
// share the kv head together; prefill chunks run tiles of kQueryTile query rows of one head
// against keys transposed into blocks of kKeyBlock tokens, so that each key and value row is
// loaded once per tile and the scores of a block come out as one vector with no horizontal sums.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/hwy/dispatch.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/hwy/attention_hwy.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// foreach_target.h must come before every other Highway header.
#include <hwy/highway.h>

#include "kernels/hwy/decode_attention-inl.h"
#include "kernels/hwy/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace mlxlm::kernels::HWY_NAMESPACE {

// Keys [j0, j1) that query row i may see. With a mask that is every key (the mask decides);
// without one, the causal, window and left-padding rules of AttentionArgs.
HWY_INLINE void VisibleKeys(const AttentionArgs& a, int64_t i, int64_t& j0, int64_t& j1) {
  j0 = 0;
  j1 = a.kv_len;
  if (a.mask == nullptr) {
    const int64_t pos = a.q_offset + i;
    j0 = std::max(a.kv_start, a.window > 0 ? pos - a.window + 1 : int64_t{0});
    j1 = std::min(a.kv_len, pos + 1);
  }
}

// Decoding tasks: query row i and kv head h split into sets of `set_heads` (at most
// kDecodeHeads) of the query heads that share h, each set's keys into split.chunks ranges. A row
// has n_kv_heads * sets * chunks tasks, in head order. `scores` holds kDecodeHeads * kv_len
// floats.
template <DType KD>
void DecodeTasks(const AttentionArgs& a, int set_heads, const simd::KeySplit& split, int64_t t0,
                 int64_t t1, float* scores) {
  const int64_t group = a.n_heads / a.n_kv_heads;
  const int64_t sets = (group + set_heads - 1) / set_heads, row_tasks = a.n_kv_heads * sets;
  const int64_t part_stride = a.v_head_dim + 2;
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t task = t0; task < t1; ++task) {
    const int64_t set_task = task / split.chunks, chunk = task % split.chunks;
    const int64_t i = set_task / row_tasks;
    const int64_t kvh = set_task % row_tasks / sets;
    const int64_t h0 = kvh * group + set_task % sets * set_heads;
    const KvType<KD>* kh = static_cast<const KvType<KD>*>(a.k) + kvh * a.k_head_stride;
    const KvType<KD>* vh = static_cast<const KvType<KD>*>(a.v) + kvh * a.v_head_stride;
    int64_t j0 = 0, j1 = 0;
    VisibleKeys(a, i, j0, j1);
    // A range's [max, sum] header per head, or null when the keys are not split.
    float* part = nullptr;
    if (split.chunks > 1) {
      j0 = std::max(j0, chunk * split.chunk_keys);
      j1 = std::min(j1, (chunk + 1) * split.chunk_keys);
      part = split.partials + task * kDecodeHeads * part_stride;
    }
    HeadSet hs;
    hs.heads = static_cast<int>(std::min<int64_t>(set_heads, (kvh + 1) * group - h0));
    for (int g = 0; g < kDecodeHeads; ++g) {
      const int last = std::min(g, hs.heads - 1);
      hs.q[g] = a.q + (i * a.n_heads + h0 + last) * a.head_dim;
      hs.out[g] = part != nullptr ? part + last * part_stride + 2
                                  : a.out + (i * a.n_heads + h0 + last) * a.v_head_dim;
      hs.scores[g] = scores + last * a.kv_len;
      hs.inv[g] = 0.0f;
      if (part != nullptr) {
        part[g * part_stride] = ninf;  // nothing visible until the scores say otherwise
        part[g * part_stride + 1] = 0.0f;
      }
    }
    if (j1 <= j0) {
      for (int g = 0; g < hs.heads; ++g) std::fill(hs.out[g], hs.out[g] + a.v_head_dim, 0.0f);
      continue;
    }
    HeadSetScores<KD>(hs, kh, a.head_dim, a.scale, j0, j1);
    for (int g = 0; g < hs.heads; ++g) {
      float* s = hs.scores[g];
      if (a.mask != nullptr) {
        for (int64_t j = j0; j < j1; ++j) {
          if (a.mask[i * a.kv_len + j] == 0) s[j] = ninf;
        }
      }
      const float mx = MaxOf(s + j0, j1 - j0);
      if (mx == ninf) {  // nothing visible: the head's output is zero
        std::fill(s + j0, s + j1, 0.0f);
        continue;
      }
      // Masked keys get exactly 0 here, so they add nothing below.
      const float sum = ExpShiftSum(s + j0, j1 - j0, mx);
      hs.inv[g] = 1.0f / sum;
      if (part != nullptr) {
        part[g * part_stride] = mx;
        part[g * part_stride + 1] = sum;
      }
    }
    HeadSetValues<KD>(hs, vh, a.v_head_dim, j0, j1);
  }
}

template <DType KD>
void TransposeKeysT(const AttentionArgs& a, int64_t h0, int64_t h1, float* kt) {
  const int64_t blocks = key_blocks(a.kv_len), hd = a.head_dim;
  for (int64_t h = h0; h < h1; ++h) {
    const KvType<KD>* kh = static_cast<const KvType<KD>*>(a.k) + h * a.k_head_stride;
    float* th = kt + h * blocks * kKeyBlock * hd;
    for (int64_t jb = 0; jb < blocks; ++jb) {
      float* tb = th + jb * kKeyBlock * hd;
      for (int64_t c = 0; c < kKeyBlock; ++c) {
        const int64_t j = jb * kKeyBlock + c;
        for (int64_t d = 0; d < hd; ++d)
          tb[d * kKeyBlock + c] = j < a.kv_len ? KvScalar<KD>(kh + j * hd + d) : 0.0f;
      }
    }
  }
}

// scores[r][j] = scale * q_r . k_j for the key blocks [b0, b1) of one head's transposed keys.
// Lanes hold consecutive keys, so each product is a broadcast of q_r[d] times a key vector. Two
// key vectors per step give eight independent FMA chains, enough to hide the FMA latency.
HWY_INLINE void TileScores(const float* const* q, const float* kt, int64_t hd, float scale,
                           int64_t b0, int64_t b1, float* scores, int64_t row_stride) {
  const hn::CappedTag<float, kKeyBlock> dk;
  const auto lanes = static_cast<int64_t>(hn::Lanes(dk));
  const auto vscale = hn::Set(dk, scale);
  // Key vectors are numbered across blocks: vector u covers keys [u * lanes, (u + 1) * lanes).
  const int64_t per_block = kKeyBlock / lanes, u1 = b1 * per_block;
  auto key = [&](int64_t u, int64_t d) {
    return kt + ((u / per_block) * hd + d) * kKeyBlock + (u % per_block) * lanes;
  };
  auto put = [&](int64_t u, int r, decltype(hn::Zero(dk)) v) {
    hn::StoreU(hn::Mul(v, vscale), dk, scores + r * row_stride + u * lanes);
  };
  int64_t u = b0 * per_block;
  for (; u + 2 <= u1; u += 2) {
    const float* k0 = key(u, 0);
    const float* k1 = key(u + 1, 0);
    auto s0 = hn::Zero(dk), s1 = hn::Zero(dk), s2 = hn::Zero(dk), s3 = hn::Zero(dk);
    auto t0 = hn::Zero(dk), t1 = hn::Zero(dk), t2 = hn::Zero(dk), t3 = hn::Zero(dk);
    for (int64_t d = 0; d < hd; ++d) {
      const auto x = hn::LoadU(dk, k0 + d * kKeyBlock), y = hn::LoadU(dk, k1 + d * kKeyBlock);
      const auto q0 = hn::Set(dk, q[0][d]), q1 = hn::Set(dk, q[1][d]);
      const auto q2 = hn::Set(dk, q[2][d]), q3 = hn::Set(dk, q[3][d]);
      s0 = hn::MulAdd(q0, x, s0);
      t0 = hn::MulAdd(q0, y, t0);
      s1 = hn::MulAdd(q1, x, s1);
      t1 = hn::MulAdd(q1, y, t1);
      s2 = hn::MulAdd(q2, x, s2);
      t2 = hn::MulAdd(q2, y, t2);
      s3 = hn::MulAdd(q3, x, s3);
      t3 = hn::MulAdd(q3, y, t3);
    }
    put(u, 0, s0);
    put(u, 1, s1);
    put(u, 2, s2);
    put(u, 3, s3);
    put(u + 1, 0, t0);
    put(u + 1, 1, t1);
    put(u + 1, 2, t2);
    put(u + 1, 3, t3);
  }
  if (u < u1) {
    const float* k0 = key(u, 0);
    auto s0 = hn::Zero(dk), s1 = hn::Zero(dk), s2 = hn::Zero(dk), s3 = hn::Zero(dk);
    for (int64_t d = 0; d < hd; ++d) {
      const auto x = hn::LoadU(dk, k0 + d * kKeyBlock);
      s0 = hn::MulAdd(hn::Set(dk, q[0][d]), x, s0);
      s1 = hn::MulAdd(hn::Set(dk, q[1][d]), x, s1);
      s2 = hn::MulAdd(hn::Set(dk, q[2][d]), x, s2);
      s3 = hn::MulAdd(hn::Set(dk, q[3][d]), x, s3);
    }
    put(u, 0, s0);
    put(u, 1, s1);
    put(u, 2, s2);
    put(u, 3, s3);
  }
}

// out_r = inv_r * sum_j p_r[j] * v_j over keys [j0, j1) for the tile's rows r < rows. Two
// output vectors of four rows stay in registers while the keys stream past.
template <DType KD>
HWY_INLINE void TileValues(const float* p, int64_t row_stride, const KvType<KD>* vh, int64_t vd,
                           int64_t j0, int64_t j1, const float* inv, float* const* out, int rows) {
  const DF df;
  const auto lanes = static_cast<int64_t>(hn::Lanes(df));
  if (vd % (2 * lanes) != 0) {
    for (int r = 0; r < rows; ++r) {
      for (int64_t d = 0; d < vd; ++d) out[r][d] = 0.0f;
      WeightedValues<KD>(p + r * row_stride, vh, vd, j0, j1, out[r]);
      Scale(inv[r], out[r], vd);
    }
    return;
  }
  const float* p0 = p;
  const float* p1 = p + row_stride;
  const float* p2 = p + 2 * row_stride;
  const float* p3 = p + 3 * row_stride;
  for (int64_t d = 0; d < vd; d += 2 * lanes) {
    VF a0 = hn::Zero(df), b0 = hn::Zero(df), a1 = hn::Zero(df), b1 = hn::Zero(df);
    VF a2 = hn::Zero(df), b2 = hn::Zero(df), a3 = hn::Zero(df), b3 = hn::Zero(df);
    for (int64_t j = j0; j < j1; ++j) {
      const VF lo = KvLoad<KD>(df, vh + j * vd + d), hi = KvLoad<KD>(df, vh + j * vd + d + lanes);
      const VF w0 = hn::Set(df, p0[j]), w1 = hn::Set(df, p1[j]);
      const VF w2 = hn::Set(df, p2[j]), w3 = hn::Set(df, p3[j]);
      a0 = hn::MulAdd(w0, lo, a0);
      b0 = hn::MulAdd(w0, hi, b0);
      a1 = hn::MulAdd(w1, lo, a1);
      b1 = hn::MulAdd(w1, hi, b1);
      a2 = hn::MulAdd(w2, lo, a2);
      b2 = hn::MulAdd(w2, hi, b2);
      a3 = hn::MulAdd(w3, lo, a3);
      b3 = hn::MulAdd(w3, hi, b3);
    }
    // No arrays of vectors: SVE's vectors are sizeless.
    auto put = [&](int r, VF x, VF y) {
      if (r >= rows) return;
      const VF s = hn::Set(df, inv[r]);
      hn::StoreU(hn::Mul(x, s), df, out[r] + d);
      hn::StoreU(hn::Mul(y, s), df, out[r] + d + lanes);
    };
    put(0, a0, b0);
    put(1, a1, b1);
    put(2, a2, b2);
    put(3, a3, b3);
  }
}

template <DType KD>
void TileTasks(const AttentionArgs& a, const float* kt, int64_t t0, int64_t t1, float* scores) {
  const int64_t group = a.n_heads / a.n_kv_heads;
  const int64_t tiles = (a.q_len + kQueryTile - 1) / kQueryTile;
  const int64_t blocks = key_blocks(a.kv_len), stride = blocks * kKeyBlock;
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t task = t0; task < t1; ++task) {
    // Head-major, so that one thread's consecutive tiles reuse the same keys and values.
    const int64_t h = task / tiles, i0 = (task % tiles) * kQueryTile;
    const int64_t kvh = h / group;
    const int rows = static_cast<int>(std::min<int64_t>(kQueryTile, a.q_len - i0));
    // Rows past the end repeat the last row, which keeps the tile loops branch-free.
    const float* q[kQueryTile];
    float* out[kQueryTile];
    int64_t lo[kQueryTile], hi[kQueryTile];
    int64_t j0 = a.kv_len, j1 = 0;
    for (int r = 0; r < kQueryTile; ++r) {
      const int64_t i = i0 + std::min(r, rows - 1);
      q[r] = a.q + (i * a.n_heads + h) * a.head_dim;
      out[r] = a.out + (i * a.n_heads + h) * a.v_head_dim;
      VisibleKeys(a, i, lo[r], hi[r]);
      if (lo[r] < hi[r]) {
        j0 = std::min(j0, lo[r]);
        j1 = std::max(j1, hi[r]);
      }
    }
    if (j1 <= j0) {
      for (int r = 0; r < rows; ++r) std::fill(out[r], out[r] + a.v_head_dim, 0.0f);
      continue;
    }
    TileScores(q, kt + kvh * stride * a.head_dim, a.head_dim, a.scale, j0 / kKeyBlock,
               key_blocks(j1), scores, stride);
    float inv[kQueryTile];
    for (int r = 0; r < kQueryTile; ++r) {
      float* s = scores + r * stride;
      const uint8_t* m =
          a.mask != nullptr ? a.mask + (i0 + std::min(r, rows - 1)) * a.kv_len : nullptr;
      if (m != nullptr) {
        for (int64_t j = j0; j < j1; ++j) {
          if (m[j] == 0) s[j] = ninf;
        }
      } else if (lo[r] >= hi[r]) {
        std::fill(s + j0, s + j1, ninf);
      } else {
        std::fill(s + j0, s + lo[r], ninf);
        std::fill(s + hi[r], s + j1, ninf);
      }
      const float mx = MaxOf(s + j0, j1 - j0);
      if (mx == ninf) {  // nothing visible: the row's output is zero
        std::fill(s + j0, s + j1, 0.0f);
        inv[r] = 0.0f;
        continue;
      }
      inv[r] = 1.0f / ExpShiftSum(s + j0, j1 - j0, mx);
    }
    TileValues<KD>(scores, stride, static_cast<const KvType<KD>*>(a.v) + kvh * a.v_head_stride,
                   a.v_head_dim, j0, j1, inv, out, rows);
  }
}

// Calls f with the cache's storage dtype as a compile-time constant (DType tag).
template <class F>
HWY_INLINE void WithKvDtype(DType kv_dtype, F&& f) {
  switch (kv_dtype) {
    case DType::BF16:
      return f(std::integral_constant<DType, DType::BF16>{});
    case DType::F16:
      return f(std::integral_constant<DType, DType::F16>{});
    default:
      return f(std::integral_constant<DType, DType::F32>{});
  }
}

void AttentionTasks(const AttentionArgs& a, int set_heads, const simd::KeySplit& split, int64_t t0,
                    int64_t t1, float* scores) {
  WithKvDtype(a.kv_dtype,
              [&](auto kd) { DecodeTasks<kd.value>(a, set_heads, split, t0, t1, scores); });
}

void TransposeKeys(const AttentionArgs& a, int64_t h0, int64_t h1, float* kt) {
  WithKvDtype(a.kv_dtype, [&](auto kd) { TransposeKeysT<kd.value>(a, h0, h1, kt); });
}

void AttentionTileTasks(const AttentionArgs& a, const float* kt, int64_t t0, int64_t t1,
                        float* scores) {
  WithKvDtype(a.kv_dtype, [&](auto kd) { TileTasks<kd.value>(a, kt, t0, t1, scores); });
}

}  // namespace mlxlm::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mlxlm::kernels::simd {

HWY_EXPORT(AttentionTasks);
HWY_EXPORT(TransposeKeys);
HWY_EXPORT(AttentionTileTasks);

void attention_tasks(const AttentionArgs& args, int set_heads, const simd::KeySplit& split,
                     int64_t task_begin, int64_t task_end, float* scratch) {
  HWY_DYNAMIC_DISPATCH(AttentionTasks)(args, set_heads, split, task_begin, task_end, scratch);
}
void transpose_keys(const AttentionArgs& args, int64_t head_begin, int64_t head_end,
                    float* keys_t) {
  HWY_DYNAMIC_DISPATCH(TransposeKeys)(args, head_begin, head_end, keys_t);
}
void attention_tile_tasks(const AttentionArgs& args, const float* keys_t, int64_t task_begin,
                          int64_t task_end, float* scratch) {
  HWY_DYNAMIC_DISPATCH(AttentionTileTasks)(args, keys_t, task_begin, task_end, scratch);
}

}  // namespace mlxlm::kernels::simd
#endif
