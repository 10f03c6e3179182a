#pragma once
// A panel of up to 32 rows of an affine 4- or 8-bit weight, laid out for the integer products
// (amx.h Int8Acts): 16-row tiles of 64 codes per 64-column step, plus the rows' scales and
// biases per step as f32. Shared by the AMX tile product and its AVX-512 VNNI counterpart.
// Compiled for AVX-512: call only where amx::available() or amx::vnni_available() said yes.
#include <cstdint>
#include <vector>

#include "base/aligned_vector.h"

#include "kernels/weight.h"

namespace mlxlm::kernels::amx {

constexpr int64_t kTileBytes = 1024;

// One panel's tiles and its scales and biases per step ([32 rows][step]); rows past the weight
// are zero. Tile (i, s) starts at tiles[i] + s * step_bytes, rows `stride` bytes apart: aligned
// 8-bit codes are tiles where they lie, others are copied (4-bit: unpacked) into `codes`
// ([row tile][step][16 rows][64 codes]).
struct Int8Panel {
  AlignedVector<uint8_t> codes;
  std::vector<float> scale, bias;
  const uint8_t* tiles[2] = {};
  int64_t stride = 0;
  int64_t step_bytes = 0;
  // Just in time (4-bit, one block of activations): each step's two tiles are unpacked into
  // `jit` (two steps' worth, alternating) while the previous step multiplies, instead of the
  // whole panel up front: a panel used once is then read from memory straight into tiles
  // that are still in L1.
  const uint8_t* packed = nullptr;  // the panel's first row of codes
  int bits = 0;
  int64_t row_bytes = 0;
  int64_t rows = 0;
  alignas(64) uint8_t jit[2][2 * 1024];

  // Row r's 64 codes of step s (not in just-in-time mode).
  const uint8_t* row_step(int64_t r, int64_t s) const {
    return tiles[r / 16] + (r % 16) * stride + s * step_bytes;
  }
};

// Rows [row0, row0 + rows) of w (rows <= 32) for activations of `steps` 64-column steps;
// `jit` selects the just-in-time mode (4-bit codes only).
void prepare_int8_panel(const WeightRef& w, int64_t row0, int64_t rows, int64_t steps, bool jit,
                        Int8Panel& p);

// Step s of a just-in-time panel's rows as two tiles at dst (rows past p.rows stay as they are).
void unpack_int8_step(const Int8Panel& p, int64_t s, uint8_t* dst);

// acc [32 weight rows][32 activation rows] of activation blocks (blk, blk + 1) -> y [activation
// row][weight row] (+ bias), for the first `rows` weight rows and activation rows below m.
void write_int8_panel(const float* acc, int64_t blk, int64_t m, int64_t rows, const float* bias,
                      float* y, int64_t y_rows);

}  // namespace mlxlm::kernels::amx
