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
  // Kept by the calling thread: a fresh buffer per layer paid its page faults and zeroing
  // every time (~4 % of a 512-token prefill). transpose_keys writes every entry, padding too.
  // (The tasks below run on other threads too: they see it through `kt`, not by name.)
  thread_local std::vector<float> keys_t;
  if (static_cast<int64_t>(keys_t.size()) < a.n_kv_heads * padded * a.head_dim) {
    keys_t.resize(a.n_kv_heads * padded * a.head_dim);
  }
  float* kt = keys_t.data();
  pool.parallel_for(a.n_kv_heads, 1, [&](int64_t begin, int64_t end) {
    simd::transpose_keys(a, begin, end, kt);
  });
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
