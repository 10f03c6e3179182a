#include "nn/attention.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "kernels/attention.h"

namespace mlxlm {

Tensor to_heads_major(const float* x, int64_t batch, int64_t length, int64_t heads, int64_t dim) {
  Tensor out(DType::F32, {batch, heads, length, dim});
  float* o = out.data<float>();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < length; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        std::memcpy(o + ((b * heads + h) * length + t) * dim,
                    x + ((b * length + t) * heads + h) * dim,
                    static_cast<size_t>(dim) * sizeof(float));
      }
    }
  }
  return out;
}

Attention::Attention(const AttentionConfig& config, AttentionWeights weights, const RoPE* rope)
    : cfg_(config), w_(std::move(weights)), rope_(rope) {
  if (cfg_.n_kv_heads <= 0 || cfg_.n_heads % cfg_.n_kv_heads != 0) {
    throw InvalidInput("nn", "num_attention_heads (" + std::to_string(cfg_.n_heads) +
                                 ") must be a multiple of num_key_value_heads (" +
                                 std::to_string(cfg_.n_kv_heads) + ")");
  }
  if (cfg_.scale == 0.0f) cfg_.scale = 1.0f / std::sqrt(static_cast<float>(cfg_.head_dim));
  auto expect = [&](const Linear& l, int64_t out, const char* name) {
    if (l.out_features() != out || l.in_features() <= 0) {
      throw InvalidInput("nn", std::string(name) + " has " + std::to_string(l.out_features()) +
                                   " outputs, expected " + std::to_string(out));
    }
  };
  expect(w_.q_proj, cfg_.n_heads * cfg_.head_dim, "q_proj");
  expect(w_.k_proj, cfg_.n_kv_heads * cfg_.head_dim, "k_proj");
  expect(w_.v_proj, cfg_.n_kv_heads * cfg_.head_dim, "v_proj");
  expect(w_.o_proj, cfg_.hidden_size, "o_proj");
}

void Attention::forward(const float* x, int64_t batch, int64_t length, AttentionCache& cache,
                        float* out) const {
  const int64_t rows = batch * length;
  const int64_t hd = cfg_.head_dim;
  std::vector<float> q(rows * cfg_.n_heads * hd), k(rows * cfg_.n_kv_heads * hd),
      v(rows * cfg_.n_kv_heads * hd);
  w_.q_proj.forward(x, rows, q.data());
  w_.k_proj.forward(x, rows, k.data());
  w_.v_proj.forward(x, rows, v.data());
  if (w_.q_norm) w_.q_norm->forward(q.data(), rows * cfg_.n_heads, q.data());
  if (w_.k_norm) w_.k_norm->forward(k.data(), rows * cfg_.n_kv_heads, k.data());

  const int64_t start = cache.offset();
  std::vector<int64_t> positions(length);
  for (int64_t t = 0; t < length; ++t) positions[t] = start + t;
  for (int64_t b = 0; b < batch; ++b) {
    rope_->apply(q.data() + b * length * cfg_.n_heads * hd, length, cfg_.n_heads, hd,
                 positions.data());
    rope_->apply(k.data() + b * length * cfg_.n_kv_heads * hd, length, cfg_.n_kv_heads, hd,
                 positions.data());
  }

  KVBlock kv = cache.update_and_fetch(to_heads_major(k.data(), batch, length, cfg_.n_kv_heads, hd),
                                      to_heads_major(v.data(), batch, length, cfg_.n_kv_heads, hd));

  std::vector<float> attn(rows * cfg_.n_heads * hd);
  for (int64_t b = 0; b < batch; ++b) {
    kernels::AttentionArgs a;
    a.q = q.data() + b * length * cfg_.n_heads * hd;
    a.q_len = length;
    a.n_heads = cfg_.n_heads;
    a.head_dim = hd;
    a.k = kv.keys + b * kv.k_batch_stride;
    a.v = kv.values + b * kv.v_batch_stride;
    a.kv_len = kv.length;
    a.n_kv_heads = kv.heads;
    a.v_head_dim = kv.v_dim;
    a.k_head_stride = kv.k_head_stride;
    a.v_head_stride = kv.v_head_stride;
    a.scale = cfg_.scale;
    a.q_offset = kv.length - length;
    a.out = attn.data() + b * length * cfg_.n_heads * hd;
    kernels::attention(a);
  }
  w_.o_proj.forward(attn.data(), rows, out);
}

}  // namespace mlxlm
