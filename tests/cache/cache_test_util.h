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

// The visible part of a KVBlock as [B, H, length, D] tensors (keys, values) of its dtype.
inline std::pair<Tensor, Tensor> block_tensors(const KVBlock& b) {
  Tensor k(b.dtype, {b.batch, b.heads, b.length, b.k_dim});
  Tensor v(b.dtype, {b.batch, b.heads, b.length, b.v_dim});
  const size_t elem = dtype_size(b.dtype);
  auto copy_rows = [&](Tensor& dst, const void* src, int64_t dim, int64_t head_stride,
                       int64_t batch_stride) {
    if (b.length * dim == 0) return;  // src may be null
    for (int64_t i = 0; i < b.batch; ++i) {
      for (int64_t h = 0; h < b.heads; ++h) {
        std::memcpy(static_cast<uint8_t*>(dst.data()) + ((i * b.heads + h) * b.length * dim) * elem,
                    static_cast<const uint8_t*>(src) + (i * batch_stride + h * head_stride) * elem,
                    static_cast<size_t>(b.length * dim) * elem);
      }
    }
  };
  copy_rows(k, b.keys, b.k_dim, b.k_head_stride, b.k_batch_stride);
  copy_rows(v, b.values, b.v_dim, b.v_head_stride, b.v_batch_stride);
  return {std::move(k), std::move(v)};
}

// Row `row`, query `i` of an array mask as bools.
inline std::vector<bool> mask_row(const AttentionMask& m, int64_t row, int64_t i) {
  std::vector<bool> out;
  for (int64_t j = 0; j < m.kv_len; ++j) out.push_back(m.at(row, i, j));
  return out;
}

}  // namespace mlxlm::testing
