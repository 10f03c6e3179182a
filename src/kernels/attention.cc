#include "kernels/attention.h"

#include <vector>

#include "base/thread_pool.h"
#include "kernels/hwy/dispatch.h"

namespace mlxlm::kernels {

void attention(const AttentionArgs& a) {
  ThreadPool::global().parallel_for(a.q_len * a.n_heads, 1, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> scores;
    if (static_cast<int64_t>(scores.size()) < a.kv_len) scores.resize(a.kv_len);
    simd::attention_tasks(a, begin, end, scores.data());
  });
}

}  // namespace mlxlm::kernels
