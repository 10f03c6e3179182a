#pragma once
// mx.quantize / mx.dequantize (affine mode, spec 4.4) along the last axis of cache tensors
// [B, H, T, D]: D * bits / 32 packed uint32 code words and D / group_size scales and biases per
// token. Scales and biases stay f32 in memory; files store them in the model's dtype.
#include <cstdint>

#include "tensor/tensor.h"

namespace mlxlm {

struct QuantizedTokens {
  Tensor codes;   // U32 [B, H, T, D * bits / 32]
  Tensor scales;  // F32 [B, H, T, D / group_size]
  Tensor biases;  // F32 [B, H, T, D / group_size]
};

// Throws InvalidInput unless bits is in {2, 3, 4, 5, 6, 8}, group_size in {16, 32, 64, 128} and the
// head dimension `dim` splits into whole groups.
void check_kv_quantization(int64_t dim, int group_size, int bits);

// Quantizes a float tensor [B, H, T, D] (F32, F16 or BF16) exactly as mx.quantize does in
// float32.
QuantizedTokens quantize_tokens(const Tensor& x, int group_size, int bits);
// The f32 values the codes stand for.
Tensor dequantize_tokens(const Tensor& codes, const Tensor& scales, const Tensor& biases,
                         int group_size, int bits);

}  // namespace mlxlm
