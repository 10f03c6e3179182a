#include "kernels/ref/ref.h"

#include <cmath>
#include <vector>

namespace mlxlm::kernels::ref {

void matmul(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y) {
  std::vector<float> row(w.cols);
  for (int64_t r = 0; r < w.rows; ++r) {
    dequantize_row(w, r, row.data());
    for (int64_t i = 0; i < m; ++i) {
      double s = bias != nullptr ? bias[r] : 0.0;
      for (int64_t k = 0; k < w.cols; ++k) s += double{x[i * w.cols + k]} * row[k];
      y[i * w.rows + r] = static_cast<float>(s);
    }
  }
}

void attention(const AttentionArgs& a) {
  const int64_t group = a.n_heads / a.n_kv_heads;
  std::vector<double> scores(a.kv_len);
  for (int64_t i = 0; i < a.q_len; ++i) {
    for (int64_t h = 0; h < a.n_heads; ++h) {
      const int64_t kvh = h / group;
      const float* q = a.q + (i * a.n_heads + h) * a.head_dim;
      double mx = -INFINITY;
      for (int64_t j = 0; j < a.kv_len; ++j) {
        int64_t pos = a.q_offset + i;
        bool visible = a.mask != nullptr
                           ? a.mask[i * a.kv_len + j] != 0
                           : (j >= a.kv_start && j <= pos && (a.window == 0 || pos - j < a.window));
        if (!visible) {
          scores[j] = -INFINITY;
          continue;
        }
        const float* k = a.k + kvh * a.k_head_stride + j * a.head_dim;
        double s = 0;
        for (int64_t d = 0; d < a.head_dim; ++d) s += double{q[d]} * k[d];
        scores[j] = s * a.scale;
        mx = std::max(mx, scores[j]);
      }
      float* out = a.out + (i * a.n_heads + h) * a.v_head_dim;
      std::vector<double> acc(a.v_head_dim, 0.0);
      double sum = 0;
      for (int64_t j = 0; j < a.kv_len && std::isfinite(mx); ++j) {
        if (!std::isfinite(scores[j])) continue;
        double p = std::exp(scores[j] - mx);
        sum += p;
        const float* v = a.v + kvh * a.v_head_stride + j * a.v_head_dim;
        for (int64_t d = 0; d < a.v_head_dim; ++d) acc[d] += p * v[d];
      }
      for (int64_t d = 0; d < a.v_head_dim; ++d) {
        out[d] = sum > 0 ? static_cast<float>(acc[d] / sum) : 0.0f;
      }
    }
  }
}

}  // namespace mlxlm::kernels::ref
