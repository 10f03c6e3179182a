#pragma once
// mlx mxfp4: groups of 32 values share an E8M0 scale byte (2^(e-127)); each value is an FP4
// E2M1 code (sign bit 3): 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives.
#include <cstdint>

namespace mlxlm::quant {

// The E8M0 byte nearest (in log2) to a positive scale; 0xFF for a non-finite one.
uint8_t to_e8m0(float scale);
// The E2M1 code nearest to x (ties as mlx breaks them).
uint8_t to_e2m1(float x);
float e2m1_value(uint8_t code);

// Quantizes 32 values: returns the scale byte, writes 32 codes.
uint8_t mxfp4_quantize_group(const float* w, uint8_t* codes);

}  // namespace mlxlm::quant
