#pragma once
// A borrowed weight matrix in any storage format the kernels consume. Quantized weights are a
// format of the same matrix, never a different code path in the models.
#include <cstdint>
#include <span>
#include <vector>

#include "tensor/dtype.h"

namespace mlxlm::kernels {

enum class WeightFormat : uint8_t {
  F32,
  F16,
  BF16,
  Affine,  // mlx affine: packed uint32 codes, per-group scale and bias (spec 4.4)
  MxFp4,   // mlx mxfp4: packed E2M1 codes, per-32 E8M0 scale bytes
};

// Row-major [rows, cols]: `rows` output features, `cols` input features (logical, unpacked).
struct WeightRef {
  WeightFormat format = WeightFormat::F32;
  const void* data =
      nullptr;  // float formats: [rows, cols]; quantized: uint32 [rows, cols*bits/32]
  int64_t rows = 0;
  int64_t cols = 0;
  const void* scales = nullptr;    // quantized: [rows, cols/group_size]
  const void* biases = nullptr;    // affine: [rows, cols/group_size]
  DType scale_dtype = DType::F32;  // affine: F32, F16 or BF16; mxfp4: U8
  int bits = 0;
  int group_size = 0;
};

// Writes row `row` of `w` as f32 values into dst[0, w.cols).
void dequantize_row(const WeightRef& w, int64_t row, float* dst);

// The memory `w` occupies: its values or codes, then its scales and biases where it has them.
std::vector<std::span<const uint8_t>> weight_ranges(const WeightRef& w);

// Bytes the weight occupies (codes + scales + biases), for memory accounting and benchmarks.
int64_t weight_bytes(const WeightRef& w);

}  // namespace mlxlm::kernels
