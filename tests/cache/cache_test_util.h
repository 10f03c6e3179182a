#pragma once
// Small helpers for the cache tests: random tensors and element-wise comparisons.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "cache/cache.h"
#include "tensor/tensor.h"

namespace mlxlm::testing {

// Uniform [0, 1) values (mx.random.uniform's range) from a fixed seed.
inline Tensor uniform(Shape shape, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  Tensor t(DType::F32, std::move(shape));
  for (auto& v : t.span<float>()) v = dist(rng);
  return t;
}

inline Tensor zeros(Shape shape) { return Tensor(DType::F32, std::move(shape)); }

inline bool array_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  return a.nbytes() == 0 || std::memcmp(a.data(), b.data(), a.nbytes()) == 0;
}

// The visible part of a float KVBlock as [B, H, length, D] tensors (keys, values).
inline std::pair<Tensor, Tensor> block_tensors(const KVBlock& b) {
  Tensor k(DType::F32, {b.batch, b.heads, b.length, b.k_dim});
  Tensor v(DType::F32, {b.batch, b.heads, b.length, b.v_dim});
  for (int64_t i = 0; i < b.batch; ++i) {
    for (int64_t h = 0; h < b.heads; ++h) {
      for (int64_t j = 0; j < b.length; ++j) {
        for (int64_t d = 0; d < b.k_dim; ++d) {
          k.data<float>()[((i * b.heads + h) * b.length + j) * b.k_dim + d] =
              b.keys[i * b.k_batch_stride + h * b.k_head_stride + j * b.k_dim + d];
        }
        for (int64_t d = 0; d < b.v_dim; ++d) {
          v.data<float>()[((i * b.heads + h) * b.length + j) * b.v_dim + d] =
              b.values[i * b.v_batch_stride + h * b.v_head_stride + j * b.v_dim + d];
        }
      }
    }
  }
  return {std::move(k), std::move(v)};
}

// Row `row`, query `i` of an array mask as bools.
inline std::vector<bool> mask_row(const AttentionMask& m, int64_t row, int64_t i) {
  std::vector<bool> out;
  for (int64_t j = 0; j < m.kv_len; ++j) out.push_back(m.at(row, i, j));
  return out;
}

}  // namespace mlxlm::testing
