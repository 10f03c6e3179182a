#include "quant/pack.h"

#include <cstring>

namespace mlxlm::quant {

void pack_codes(const uint8_t* codes, int64_t n, int bits, uint8_t* out) {
  std::memset(out, 0, static_cast<size_t>(n * bits / 8));
  for (int64_t j = 0; j < n; ++j) {
    const int64_t bit = j * bits;
    const uint32_t v = uint32_t{codes[j]} << (bit & 7);
    out[bit >> 3] |= static_cast<uint8_t>(v);
    if ((bit & 7) + bits > 8) out[(bit >> 3) + 1] |= static_cast<uint8_t>(v >> 8);
  }
}

uint32_t unpack_code(const uint8_t* packed, int64_t j, int bits) {
  const int64_t bit = j * bits;
  uint32_t v = packed[bit >> 3];
  if ((bit & 7) + bits > 8) v |= uint32_t{packed[(bit >> 3) + 1]} << 8;
  return (v >> (bit & 7)) & ((1u << bits) - 1);
}

}  // namespace mlxlm::quant
