#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/thread_pool.h"

namespace mlxlm::kernels {

void attention(const AttentionArgs& a) {
  const int64_t group = a.n_heads / a.n_kv_heads;
  ThreadPool::global().parallel_for(a.q_len * a.n_heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(a.kv_len);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t i = task / a.n_heads;
      const int64_t h = task % a.n_heads;
      const int64_t kvh = h / group;
      const float* q = a.q + (i * a.n_heads + h) * a.head_dim;
      const float* kh = a.k + kvh * a.k_head_stride;
      const float* vh = a.v + kvh * a.v_head_stride;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < a.kv_len; ++j) {
        bool visible;
        if (a.mask != nullptr) {
          visible = a.mask[i * a.kv_len + j] != 0;
        } else {
          int64_t pos = a.q_offset + i;
          visible = j >= a.kv_start && j <= pos && (a.window == 0 || pos - j < a.window);
        }
        if (!visible) {
          scores[j] = -std::numeric_limits<float>::infinity();
          continue;
        }
        const float* k = kh + j * a.head_dim;
        float s = 0;
        for (int64_t d = 0; d < a.head_dim; ++d) s += q[d] * k[d];
        scores[j] = s * a.scale;
        mx = std::max(mx, scores[j]);
      }
      float* out = a.out + (i * a.n_heads + h) * a.v_head_dim;
      std::fill(out, out + a.v_head_dim, 0.0f);
      if (mx == -std::numeric_limits<float>::infinity()) continue;
      float sum = 0;
      for (int64_t j = 0; j < a.kv_len; ++j) {
        if (scores[j] == -std::numeric_limits<float>::infinity()) continue;
        float p = std::exp(scores[j] - mx);
        sum += p;
        const float* v = vh + j * a.v_head_dim;
        for (int64_t d = 0; d < a.v_head_dim; ++d) out[d] += p * v[d];
      }
      float inv = 1.0f / sum;
      for (int64_t d = 0; d < a.v_head_dim; ++d) out[d] *= inv;
    }
  });
}

}  // namespace mlxlm::kernels
