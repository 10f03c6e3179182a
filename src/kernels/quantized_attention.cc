#include "kernels/quantized_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/thread_pool.h"

namespace mlxlm::kernels {

void unpack_codes(const uint32_t* words, int64_t n, int bits, float* out) {
  const uint32_t mask = (1u << bits) - 1;
  if (bits == 8 || bits == 4 || bits == 2) {
    const int per_word = 32 / bits;
    for (int64_t w = 0; w < n / per_word; ++w) {
      uint32_t word = words[w];
      for (int k = 0; k < per_word; ++k) {
        out[w * per_word + k] = static_cast<float>((word >> (k * bits)) & mask);
      }
    }
    return;
  }
  for (int64_t j = 0; j < n; ++j) {
    const int64_t bit = j * bits;
    const int shift = static_cast<int>(bit & 31);
    uint64_t pair = words[bit >> 5];
    if (shift + bits > 32) pair |= uint64_t{words[(bit >> 5) + 1]} << 32;
    out[j] = static_cast<float>((pair >> shift) & mask);
  }
}

void quantized_attention(const QuantizedAttentionArgs& a) {
  const int64_t group = a.n_heads / a.n_kv_heads;
  const int64_t k_words = a.head_dim * a.bits / 32, v_words = a.v_head_dim * a.bits / 32;
  const int64_t k_groups = a.head_dim / a.group_size, v_groups = a.v_head_dim / a.group_size;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  ThreadPool::global().parallel_for(a.q_len * a.n_heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(a.kv_len));
    std::vector<float> codes(static_cast<size_t>(std::max(a.head_dim, a.v_head_dim)));
    std::vector<float> qsum(static_cast<size_t>(k_groups));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t i = task / a.n_heads, h = task % a.n_heads, kvh = h / group;
      const float* q = a.q + (i * a.n_heads + h) * a.head_dim;
      for (int64_t g = 0; g < k_groups; ++g) {
        float s = 0;
        for (int64_t d = 0; d < a.group_size; ++d) s += q[g * a.group_size + d];
        qsum[g] = s;
      }
      const uint32_t* kc = a.k_codes + kvh * a.k_codes_head_stride;
      const float* ks = a.k_scales + kvh * a.k_groups_head_stride;
      const float* kb = a.k_biases + kvh * a.k_groups_head_stride;
      float mx = kNegInf;
      const int64_t pos = a.q_offset + i;
      for (int64_t j = 0; j < a.kv_len; ++j) {
        const bool visible = a.mask != nullptr ? a.mask[i * a.kv_len + j] != 0
                                               : j <= pos && (a.window == 0 || pos - j < a.window);
        if (!visible) {
          scores[j] = kNegInf;
          continue;
        }
        unpack_codes(kc + j * k_words, a.head_dim, a.bits, codes.data());
        float s = 0;
        for (int64_t g = 0; g < k_groups; ++g) {
          float dot = 0;
          const float* qg = q + g * a.group_size;
          const float* cg = codes.data() + g * a.group_size;
          for (int64_t d = 0; d < a.group_size; ++d) dot += qg[d] * cg[d];
          s += ks[j * k_groups + g] * dot + kb[j * k_groups + g] * qsum[g];
        }
        scores[j] = s * a.scale;
        mx = std::max(mx, scores[j]);
      }
      float* out = a.out + (i * a.n_heads + h) * a.v_head_dim;
      std::fill(out, out + a.v_head_dim, 0.0f);
      if (mx == kNegInf) continue;
      const uint32_t* vc = a.v_codes + kvh * a.v_codes_head_stride;
      const float* vs = a.v_scales + kvh * a.v_groups_head_stride;
      const float* vb = a.v_biases + kvh * a.v_groups_head_stride;
      float sum = 0;
      for (int64_t j = 0; j < a.kv_len; ++j) {
        if (scores[j] == kNegInf) continue;
        const float p = std::exp(scores[j] - mx);
        sum += p;
        unpack_codes(vc + j * v_words, a.v_head_dim, a.bits, codes.data());
        for (int64_t g = 0; g < v_groups; ++g) {
          const float ps = p * vs[j * v_groups + g], pb = p * vb[j * v_groups + g];
          float* og = out + g * a.group_size;
          const float* cg = codes.data() + g * a.group_size;
          for (int64_t d = 0; d < a.group_size; ++d) og[d] += ps * cg[d] + pb;
        }
      }
      const float inv = 1.0f / sum;
      for (int64_t d = 0; d < a.v_head_dim; ++d) out[d] *= inv;
    }
  });
}

}  // namespace mlxlm::kernels
