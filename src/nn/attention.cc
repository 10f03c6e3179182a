#include "nn/attention.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "kernels/attention.h"
#include "kernels/quantized_attention.h"
#include "nn/scratch.h"

namespace mlxlm {

Tensor to_heads_major(const float* x, int64_t batch, int64_t length, int64_t heads, int64_t dim,
                      DType dtype) {
  Tensor out(dtype, {batch, heads, length, dim});
  auto* o = static_cast<uint8_t*>(out.data());
  const size_t elem = dtype_size(dtype);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < length; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        convert_from_f32(x + ((b * length + t) * heads + h) * dim, dim, dtype,
                         o + static_cast<size_t>(((b * heads + h) * length + t) * dim) * elem);
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
  float* q = scratch(ScratchSlot::AttnQ, rows * cfg_.n_heads * hd);
  float* k = scratch(ScratchSlot::AttnK, rows * cfg_.n_kv_heads * hd);
  float* v = scratch(ScratchSlot::AttnV, rows * cfg_.n_kv_heads * hd);
  forward_group(x, rows, {{&w_.q_proj, q}, {&w_.k_proj, k}, {&w_.v_proj, v}});
  if (w_.q_norm) w_.q_norm->forward(q, rows * cfg_.n_heads, q);
  if (w_.k_norm) w_.k_norm->forward(k, rows * cfg_.n_kv_heads, k);

  // mlx-lm builds the mask and reads the offsets before the cache takes the new tokens.
  const std::vector<int64_t> offsets = cache.row_offsets(batch);
  const AttentionMask mask = cache.make_mask(length, cfg_.sliding_window);
  std::vector<int64_t> positions(length);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < length; ++t) positions[t] = offsets[b] + t;
    rope_->apply(q + b * length * cfg_.n_heads * hd, length, cfg_.n_heads, hd, positions.data());
    rope_->apply(k + b * length * cfg_.n_kv_heads * hd, length, cfg_.n_kv_heads, hd,
                 positions.data());
  }

  KVBlock kv =
      cache.update_and_fetch(to_heads_major(k, batch, length, cfg_.n_kv_heads, hd, cfg_.kv_dtype),
                             to_heads_major(v, batch, length, cfg_.n_kv_heads, hd, cfg_.kv_dtype));
  if (mask.is_array()) {
    MLXLM_CHECK(mask.q_len == length && mask.kv_len == kv.length, "nn", "mask ", mask.q_len, "x",
                mask.kv_len, " for ", length, " queries over ", kv.length, " keys");
  }

  float* attn = scratch(ScratchSlot::AttnOut, rows * cfg_.n_heads * hd);
  for (int64_t b = 0; b < batch; ++b) {
    const float* qb = q + b * length * cfg_.n_heads * hd;
    float* ob = attn + b * length * cfg_.n_heads * hd;
    const uint8_t* mb = mask.is_array() ? mask.row_data(b) : nullptr;
    // Without an array mask: causal, aligned so that the last query sees the last key.
    const int64_t q_offset = kv.length - length;
    if (kv.bits > 0) {
      kernels::QuantizedAttentionArgs a;
      a.q = qb;
      a.q_len = length;
      a.n_heads = cfg_.n_heads;
      a.head_dim = hd;
      a.v_head_dim = kv.v_dim;
      a.kv_len = kv.length;
      a.n_kv_heads = kv.heads;
      a.bits = kv.bits;
      a.group_size = kv.group_size;
      a.k_codes = kv.qk.codes + b * kv.qk.codes_batch_stride;
      a.k_scales = kv.qk.scales + b * kv.qk.groups_batch_stride;
      a.k_biases = kv.qk.biases + b * kv.qk.groups_batch_stride;
      a.k_codes_head_stride = kv.qk.codes_head_stride;
      a.k_groups_head_stride = kv.qk.groups_head_stride;
      a.v_codes = kv.qv.codes + b * kv.qv.codes_batch_stride;
      a.v_scales = kv.qv.scales + b * kv.qv.groups_batch_stride;
      a.v_biases = kv.qv.biases + b * kv.qv.groups_batch_stride;
      a.v_codes_head_stride = kv.qv.codes_head_stride;
      a.v_groups_head_stride = kv.qv.groups_head_stride;
      a.scale = cfg_.scale;
      a.q_offset = q_offset;
      a.mask = mb;
      a.out = ob;
      kernels::quantized_attention(a);
      continue;
    }
    kernels::AttentionArgs a;
    a.q = qb;
    a.q_len = length;
    a.n_heads = cfg_.n_heads;
    a.head_dim = hd;
    const size_t elem = dtype_size(kv.dtype);
    a.k = static_cast<const uint8_t*>(kv.keys) + static_cast<size_t>(b * kv.k_batch_stride) * elem;
    a.v =
        static_cast<const uint8_t*>(kv.values) + static_cast<size_t>(b * kv.v_batch_stride) * elem;
    a.kv_dtype = kv.dtype;
    a.kv_len = kv.length;
    a.n_kv_heads = kv.heads;
    a.v_head_dim = kv.v_dim;
    a.k_head_stride = kv.k_head_stride;
    a.v_head_stride = kv.v_head_stride;
    a.scale = cfg_.scale;
    a.q_offset = q_offset;
    a.mask = mb;
    a.out = ob;
    kernels::attention(a);
  }
  w_.o_proj.forward(attn, rows, out);
}

}  // namespace mlxlm
