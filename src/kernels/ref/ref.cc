#include "kernels/ref/ref.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/tensor.h"

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

void matmul_bf16(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y) {
  auto round = [](float v) { return bf16_to_f32(f32_to_bf16(v)); };
  std::vector<float> xr(x, x + m * w.cols);
  for (float& v : xr) v = round(v);
  std::vector<float> row(w.cols);
  for (int64_t r = 0; r < w.rows; ++r) {
    dequantize_row(w, r, row.data());
    for (float& v : row) v = round(v);
    for (int64_t i = 0; i < m; ++i) {
      double s = bias != nullptr ? bias[r] : 0.0;
      for (int64_t k = 0; k < w.cols; ++k) s += double{xr[i * w.cols + k]} * row[k];
      y[i * w.rows + r] = static_cast<float>(s);
    }
  }
}

void attention(const AttentionArgs& a) {
  const int64_t group = a.n_heads / a.n_kv_heads;
  // Keys and values as f32, whatever dtype the cache holds them in.
  auto widen = [&](const void* x, int64_t stride, int64_t dim) {
    const int64_t n = (a.n_kv_heads - 1) * stride + a.kv_len * dim;
    std::vector<float> out(static_cast<size_t>(n));
    convert_to_f32(x, a.kv_dtype, n, out.data());
    return out;
  };
  const std::vector<float> keys = widen(a.k, a.k_head_stride, a.head_dim);
  const std::vector<float> values = widen(a.v, a.v_head_stride, a.v_head_dim);
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
        const float* k = keys.data() + kvh * a.k_head_stride + j * a.head_dim;
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
        const float* v = values.data() + kvh * a.v_head_stride + j * a.v_head_dim;
        for (int64_t d = 0; d < a.v_head_dim; ++d) acc[d] += p * v[d];
      }
      for (int64_t d = 0; d < a.v_head_dim; ++d) {
        out[d] = sum > 0 ? static_cast<float>(acc[d] / sum) : 0.0f;
      }
    }
  }
}

}  // namespace mlxlm::kernels::ref

namespace mlxlm::kernels::ref {

void matmul_int8_acts(const float* x, int64_t m, const WeightRef& w, const float* bias, float* y,
                      int64_t block) {
  std::vector<float> xr(static_cast<size_t>(m * w.cols));
  for (int64_t i = 0; i < m * w.cols; i += block) {
    double amax = 0;
    for (int64_t j = i; j < i + block; ++j) amax = std::max(amax, std::fabs(double{x[j]}));
    const float d = static_cast<float>(amax) / 127.0f;
    const float id = d > 0 ? 1.0f / d : 0.0f;
    for (int64_t j = i; j < i + block; ++j) {
      xr[j] = d * static_cast<float>(std::nearbyint(x[j] * id));
    }
  }
  matmul(xr.data(), m, w, bias, y);
}

void rms_norm(const float* x, const float* weight, float eps, int64_t rows, int64_t dim, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += double{x[r * dim + i]} * x[r * dim + i];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i) {
      y[r * dim + i] = static_cast<float>(x[r * dim + i] * inv * weight[i]);
    }
  }
}

void silu_mul(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const double g = gate[i];
    out[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up[i]);
  }
}

void softmax(float* x, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    float* xr = x + r * n;
    double mx = -INFINITY;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, double{xr[i]});
    if (!std::isfinite(mx)) {
      for (int64_t i = 0; i < n; ++i) xr[i] = 0.0f;
      continue;
    }
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(xr[i] - mx);
    for (int64_t i = 0; i < n; ++i) xr[i] = static_cast<float>(std::exp(xr[i] - mx) / sum);
  }
}

void rope(float* x, const RopeArgs& a) {
  const int64_t half = a.rot_dim / 2;
  for (int64_t t = 0; t < a.tokens; ++t) {
    for (int64_t h = 0; h < a.heads; ++h) {
      float* v = x + (t * a.heads + h) * a.head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const double angle = static_cast<double>(a.positions[t]) * a.inv_freq[i];
        const double c = std::cos(angle) * a.scale, s = std::sin(angle) * a.scale;
        const int64_t i0 = a.traditional ? 2 * i : i;
        const int64_t i1 = a.traditional ? 2 * i + 1 : i + half;
        const double x0 = v[i0], x1 = v[i1];
        v[i0] = static_cast<float>(x0 * c - x1 * s);
        v[i1] = static_cast<float>(x1 * c + x0 * s);
      }
    }
  }
}

}  // namespace mlxlm::kernels::ref
