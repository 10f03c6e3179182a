#pragma once
// Weight rows as bf16 A tiles: the rows of a panel, dequantized (or copied) into a buffer
// whose row stride is a whole number of 32-column tile steps.
#include <cstdint>

#include "kernels/weight.h"

namespace mlxlm::kernels::amx {

// Writes rows [row0, row0 + rows) of `w` as bf16 to dst, row stride `ld` (a multiple of 32, at
// least w.cols), zero in columns [w.cols, ld). Quantized values are computed in f32 (scale *
// code + bias, as dequantize_row) and then rounded to nearest even. AVX-512: call only when
// amx::available().
void weight_rows_bf16(const WeightRef& w, int64_t row0, int64_t rows, uint16_t* dst, int64_t ld);

}  // namespace mlxlm::kernels::amx
