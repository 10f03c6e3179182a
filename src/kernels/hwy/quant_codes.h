#pragma once
// Weight code formats of the quantized matmul kernels and their scalar decoding, shared by
// every SIMD target.
#include <cmath>
#include <cstdint>
#include <cstring>

namespace mlxlm::kernels::qdetail {

// Code formats of a 32-value block, named by how it is stored.
constexpr int kFmtBytes = 0;  // one code per byte (3/5/6-bit rows unpacked up front)
constexpr int kFmtFp4 = 16;   // mxfp4 E2M1 nibbles

constexpr int64_t block_bytes(int fmt) {
  return fmt == kFmtBytes ? 32 : fmt == kFmtFp4 ? 16 : fmt * 4;
}

// E2M1 values times two, so that they are integers.
constexpr int8_t kFp4x2[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// 2^(e - 128): the E8M0 scale 2^(e - 127) halved to undo kFp4x2's doubling.
struct E8m0HalfTable {
  float v[256];
  E8m0HalfTable() {
    for (int e = 0; e < 256; ++e) v[e] = std::ldexp(1.0f, e - 128);
  }
  float operator[](uint8_t e) const { return v[e]; }
};
inline const E8m0HalfTable kE8m0Half;

// Unpacks a row of `k` codes of `bits` bits (3, 5 or 6) into bytes, 8 codes (= `bits` bytes)
// at a time so that no read passes the end of the row.
inline void unpack_row_bytes(const uint8_t* src, int64_t k, int bits, uint8_t* dst) {
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  for (int64_t j = 0; j < k; j += 8) {
    uint64_t v = 0;
    std::memcpy(&v, src + (j / 8) * bits, static_cast<size_t>(bits));
    for (int t = 0; t < 8; ++t) dst[j + t] = static_cast<uint8_t>((v >> (t * bits)) & mask);
  }
}

// Code p of a block in the order the SIMD unpacking produces (see quant_acts.h CodeOrder).
template <int F>
inline int scalar_code(const uint8_t* p, int pos) {
  if constexpr (F == 4 || F == kFmtFp4) {
    int c = pos < 16 ? (p[pos] & 15) : (p[pos - 16] >> 4);
    return F == kFmtFp4 ? kFp4x2[c] : c;
  } else if constexpr (F == 2) {
    return (p[pos % 8] >> (2 * (pos / 8))) & 3;
  } else {
    return p[pos];
  }
}

}  // namespace mlxlm::kernels::qdetail
