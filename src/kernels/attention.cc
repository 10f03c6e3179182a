#include "kernels/attention.h"

#include <vector>

#include "base/thread_pool.h"
#include "kernels/hwy/dispatch.h"

namespace mlxlm::kernels {

void attention(const AttentionArgs& a) {
  ThreadPool& pool = ThreadPool::global();
  if (a.q_len < kQueryTile) {
    // Query heads that share a kv head run together (each key and value loaded once for all),
    // unless that leaves fewer tasks than threads.
    const int64_t group = a.n_heads / a.n_kv_heads;
    const int set_heads = a.q_len * a.n_kv_heads >= pool.num_threads() ? kDecodeHeads : 1;
    const int64_t tasks = a.q_len * a.n_kv_heads * ((group + set_heads - 1) / set_heads);
    pool.parallel_for(tasks, 1, [&](int64_t begin, int64_t end) {
      thread_local std::vector<float> scores;
      if (static_cast<int64_t>(scores.size()) < kDecodeHeads * a.kv_len) {
        scores.resize(kDecodeHeads * a.kv_len);
      }
      simd::attention_tasks(a, set_heads, begin, end, scores.data());
    });
    return;
  }
  // Prefill: the transposed keys cost one pass over the keys and serve q_len * group queries.
  const int64_t padded = key_blocks(a.kv_len) * kKeyBlock;
  std::vector<float> keys_t(a.n_kv_heads * padded * a.head_dim);
  pool.parallel_for(a.n_kv_heads, 1, [&](int64_t begin, int64_t end) {
    simd::transpose_keys(a, begin, end, keys_t.data());
  });
  const int64_t tiles = (a.q_len + kQueryTile - 1) / kQueryTile;
  pool.parallel_for(a.n_heads * tiles, 1, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> scores;
    if (static_cast<int64_t>(scores.size()) < kQueryTile * padded) {
      scores.resize(kQueryTile * padded);
    }
    simd::attention_tile_tasks(a, keys_t.data(), begin, end, scores.data());
  });
}

}  // namespace mlxlm::kernels
