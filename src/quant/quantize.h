#pragma once
// Whole-matrix quantization into the tensors mlx stores per module (spec 4.3), and back.
#include <optional>

#include "kernels/weight.h"
#include "quant/quant_config.h"
#include "tensor/tensor.h"

namespace mlxlm::quant {

struct QuantizedTensors {
  Tensor weight;  // U32 [rows, cols * bits / 32]
  Tensor scales;  // affine: scale_dtype [rows, cols / G]; mxfp4: U8 [rows, cols / 32]
  std::optional<Tensor> biases;  // affine only
};

// Whether a matrix with `cols` inputs can be quantized with `p` (mlx skips the others).
bool can_quantize(int64_t cols, const QuantParams& p);

// w is [rows, cols] f32; scale_dtype (F16, BF16 or F32) is the dtype scales and biases are cast
// to, as mlx casts them to the weight's dtype. Throws InvalidInput for unsupported parameters.
QuantizedTensors quantize_matrix(const float* w, int64_t rows, int64_t cols, const QuantParams& p,
                                 DType scale_dtype);

// The kernel view of quantized tensors (rows and cols as logical f32 shape).
kernels::WeightRef quantized_ref(const QuantizedTensors& t, int64_t rows, int64_t cols,
                                 const QuantParams& p);

// Dequantizes a whole weight to f32 [rows, cols].
Tensor dequantize_matrix(const kernels::WeightRef& w);

}  // namespace mlxlm::quant
