#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/hwy/dispatch.h"

namespace mlxlm::kernels {
namespace {

// Keys per range when a decoding step splits them: enough that a range's fixed costs (its
// partial output, the merge) stay small beside reading its keys and values.
constexpr int64_t kMinRangeKeys = 128;

// How a decoding step with `set_tasks` (row, kv head, head set) tasks splits its keys: into
// ranges when there are fewer than 4 tasks per thread (SmolLM2's 3 kv heads on 2 threads left
// one thread idle a third of the time), as many as make at least 4 tasks per thread and a whole
// number per thread where the keys allow.
simd::KeySplit key_split(int64_t set_tasks, int64_t kv_len, int threads, int64_t v_head_dim,
                         std::vector<float>& partials) {
  simd::KeySplit split;
  const int64_t max_chunks = kv_len / kMinRangeKeys;
  if (threads < 2 || set_tasks >= 4 * threads || max_chunks < 2) return split;
  int64_t chunks = std::min(max_chunks, (4 * threads + set_tasks - 1) / set_tasks);
  while (chunks < max_chunks && set_tasks * chunks % threads != 0) ++chunks;
  split.chunks = chunks;
  split.chunk_keys = (kv_len + chunks - 1) / chunks;
  partials.resize(static_cast<size_t>(set_tasks * chunks * kDecodeHeads * (v_head_dim + 2)));
  split.partials = partials.data();
  return split;
}

// Merges the key ranges' partial results (simd::KeySplit) into args.out: each range's normalised
// values weighted by its share of the softmax denominator, sum_c * exp(max_c - max).
void merge_key_ranges(const AttentionArgs& a, int set_heads, const simd::KeySplit& split) {
  const int64_t group = a.n_heads / a.n_kv_heads;
  const int64_t sets = (group + set_heads - 1) / set_heads, vd = a.v_head_dim;
  const int64_t stride = vd + 2;
  for (int64_t i = 0; i < a.q_len; ++i) {
    for (int64_t h = 0; h < a.n_heads; ++h) {
      const int64_t in_group = h % group;
      const int64_t set_task = (i * a.n_kv_heads + h / group) * sets + in_group / set_heads;
      auto range = [&](int64_t c) {
        return split.partials +
               ((set_task * split.chunks + c) * kDecodeHeads + in_group % set_heads) * stride;
      };
      float top = -std::numeric_limits<float>::infinity();
      for (int64_t c = 0; c < split.chunks; ++c) top = std::max(top, range(c)[0]);
      float* out = a.out + (i * a.n_heads + h) * vd;
      std::fill(out, out + vd, 0.0f);
      if (top == -std::numeric_limits<float>::infinity()) continue;  // no key visible
      float total = 0.0f;
      for (int64_t c = 0; c < split.chunks; ++c) {
        const float* p = range(c);
        if (p[1] == 0.0f) continue;
        const float weight = p[1] * std::exp(p[0] - top);
        total += weight;
        for (int64_t d = 0; d < vd; ++d) out[d] += weight * p[2 + d];
      }
      const float inv = 1.0f / total;
      for (int64_t d = 0; d < vd; ++d) out[d] *= inv;
    }
  }
}

}  // namespace

void attention(const AttentionArgs& a) {
  ThreadPool& pool = ThreadPool::global();
  if (a.q_len < kQueryTile) {
    // Query heads that share a kv head run together (each key and value loaded once for all),
    // unless that leaves fewer tasks than threads.
    const int64_t group = a.n_heads / a.n_kv_heads;
    const int set_heads = a.q_len * a.n_kv_heads >= pool.num_threads() ? kDecodeHeads : 1;
    const int64_t set_tasks = a.q_len * a.n_kv_heads * ((group + set_heads - 1) / set_heads);
    thread_local std::vector<float> partials;
    const simd::KeySplit split =
        key_split(set_tasks, a.kv_len, pool.num_threads(), a.v_head_dim, partials);
    pool.parallel_for(set_tasks * split.chunks, 1, [&](int64_t begin, int64_t end) {
      thread_local std::vector<float> scores;
      if (static_cast<int64_t>(scores.size()) < kDecodeHeads * a.kv_len) {
        scores.resize(kDecodeHeads * a.kv_len);
      }
      simd::attention_tasks(a, set_heads, split, begin, end, scores.data());
    });
    if (split.chunks > 1) merge_key_ranges(a, set_heads, split);
    return;
  }
  // Prefill: the transposed keys cost one pass over the keys and serve q_len * group queries.
  const int64_t padded = key_blocks(a.kv_len) * kKeyBlock;
  // Kept by the calling thread: a fresh buffer per layer paid its page faults and zeroing
  // every time (~4 % of a 512-token prefill). transpose_keys writes every entry, padding too.
  // (The tasks below run on other threads too: they see it through `kt`, not by name.)
  thread_local std::vector<float> keys_t;
  if (static_cast<int64_t>(keys_t.size()) < a.n_kv_heads * padded * a.head_dim) {
    keys_t.resize(a.n_kv_heads * padded * a.head_dim);
  }
  float* kt = keys_t.data();
  pool.parallel_for(a.n_kv_heads, 1,
                    [&](int64_t begin, int64_t end) { simd::transpose_keys(a, begin, end, kt); });
  const int64_t tiles = (a.q_len + kQueryTile - 1) / kQueryTile;
  pool.parallel_for(a.n_heads * tiles, 1, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> scores;
    if (static_cast<int64_t>(scores.size()) < kQueryTile * padded) {
      scores.resize(kQueryTile * padded);
    }
    simd::attention_tile_tasks(a, kt, begin, end, scores.data());
  });
}

}  // namespace mlxlm::kernels
