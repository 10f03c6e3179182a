#pragma once
// Weight rows as the B operand of the tile product: bf16 tiles whose row p holds, for each of
// 16 weight rows, columns 2p and 2p + 1 of a 32-column step (the pair layout `tdpbf16ps`
// multiplies). Each tile is 1 KiB of contiguous memory, so tile loads never stride by a power
// of two (a 2048-wide bf16 weight row is 4 KiB, which would put a tile's 16 rows in one L1 set).
#include <cstdint>

#include "kernels/weight.h"

namespace mlxlm::kernels::amx {

// Writes rows [row0, row0 + rows) of `w` (rows <= 32) as ceil(rows / 16) row tiles of k_steps
// tiles each, tile (t, s) at dst + (t * k_steps + s) * 512 covering weight rows 16t.. and
// columns 32s.., zero past the weight's rows and columns. Quantized values are computed in
// f32 (scale * code + bias) and then rounded to nearest even. AVX-512: call only when
// amx::available().
void weight_tiles_bf16(const WeightRef& w, int64_t row0, int64_t rows, int64_t k_steps,
                       uint16_t* dst);

}  // namespace mlxlm::kernels::amx
