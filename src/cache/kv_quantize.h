#pragma once
// mx.quantize / mx.dequantize (affine mode, spec 4.4) along the last axis of cache tensors
// [B, H, T, D]: D * bits / 32 packed uint32 code words and D / group_size scales and biases per
// token. Scales and biases stay f32 in memory; files store them in the model's dtype.
#include <array>
#include <cstdint>

#include "tensor/tensor.h"

namespace mlxlm {

struct QuantizedTokens {
  Tensor codes;   // U32 [B, H, T, D * bits / 32]
  Tensor scales;  // F32 [B, H, T, D / group_size]
  Tensor biases;  // F32 [B, H, T, D / group_size]
};

// The bits and group sizes the KV-cache quantizer takes: mlx's, plus groups of 16 so that
// models with head_dim 16 can quantize. The command line checks its flags against them too.
inline constexpr std::array<int, 6> kKvBits{2, 3, 4, 5, 6, 8};
inline constexpr std::array<int, 4> kKvGroupSizes{16, 32, 64, 128};

// Throws InvalidInput unless bits is in kKvBits, group_size in kKvGroupSizes and the head
// dimension `dim` splits into whole groups.
void check_kv_quantization(int64_t dim, int group_size, int bits);

// Quantizes a float tensor [B, H, T, D] (F32, F16 or BF16) exactly as mx.quantize does in
// float32.
QuantizedTokens quantize_tokens(const Tensor& x, int group_size, int bits);
// The f32 values the codes stand for.
Tensor dequantize_tokens(const Tensor& codes, const Tensor& scales, const Tensor& biases,
                         int group_size, int bits);

}  // namespace mlxlm
