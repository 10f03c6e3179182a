#pragma once
// mlx's bit packing (spec 4.4): each row of codes is a little-endian bitstream, code j in bits
// [j*bits, (j+1)*bits) counting from bit 0 of the first byte; 3/5/6-bit codes may straddle
// 32-bit words. A row of K codes takes K*bits/8 bytes.
#include <cstdint>

namespace mlxlm::quant {

// Packs n codes (each < 2^bits) into n*bits/8 bytes at `out` (n*bits must be a multiple of 8).
void pack_codes(const uint8_t* codes, int64_t n, int bits, uint8_t* out);
// Code j of a packed row.
uint32_t unpack_code(const uint8_t* packed, int64_t j, int bits);

}  // namespace mlxlm::quant
