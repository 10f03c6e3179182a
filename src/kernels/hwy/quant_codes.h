#pragma once
// Weight code formats of the quantized matmul kernels and their scalar decoding, shared by
// every SIMD target.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

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

// Unpacks a row of `k` codes (a multiple of 8) of kBits bits into bytes, 8 codes (= kBits
// bytes) at a time: whole 8-byte loads while they stay inside the row, then exact ones.
template <int kBits>
inline void unpack_row_bytes_t(const uint8_t* src, int64_t k, uint8_t* dst) {
  constexpr uint64_t kMask = (uint64_t{1} << kBits) - 1;
  const int64_t groups = k / 8;
  const int64_t wide = groups - (8 + kBits - 1) / kBits;  // groups whose 8-byte load fits
  for (int64_t g = 0; g < groups; ++g) {
    uint64_t v = 0;
    if (g < wide) {
      std::memcpy(&v, src + g * kBits, 8);
    } else {
      std::memcpy(&v, src + g * kBits, kBits);
    }
    for (int t = 0; t < 8; ++t) dst[8 * g + t] = static_cast<uint8_t>((v >> (t * kBits)) & kMask);
  }
}

// fn(std::integral_constant<int, bits>{}) for `bits` of 2 to 8 (8 for anything else), so that
// per-width code is compiled once per width.
template <class Fn>
inline void with_bits(int bits, Fn&& fn) {
  switch (bits) {
    case 2:
      return fn(std::integral_constant<int, 2>{});
    case 3:
      return fn(std::integral_constant<int, 3>{});
    case 4:
      return fn(std::integral_constant<int, 4>{});
    case 5:
      return fn(std::integral_constant<int, 5>{});
    case 6:
      return fn(std::integral_constant<int, 6>{});
    case 7:
      return fn(std::integral_constant<int, 7>{});
    default:
      return fn(std::integral_constant<int, 8>{});
  }
}

// unpack_row_bytes_t for `bits` of 2 to 8.
inline void unpack_row_bytes(const uint8_t* src, int64_t k, int bits, uint8_t* dst) {
  with_bits(bits, [&](auto b) { unpack_row_bytes_t<b()>(src, k, dst); });
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
