#pragma once
// Reading weights with no arithmetic, as fast as memory allows: the floor that a memory-bound
// decoding step is measured against (`mlxlm bench --floor`). A decoding step reads every weight
// byte once, so the time to merely read those same bytes, in the same order, with the same
// threads, is the least time a step can take.
#include <cstdint>
#include <span>

#include "kernels/weight.h"

namespace mlxlm::kernels {

// Reads every byte of `weights` (weight_ranges) once, split across the thread pool, and returns
// the sum modulo 2^64 of their little-endian 64-bit words, each range's last partial word
// zero-padded. The sum keeps the reads from being optimised away and shows that every byte was
// read exactly once.
uint64_t stream_weights(std::span<const WeightRef> weights);

}  // namespace mlxlm::kernels
