#pragma once
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace mlxlm {

enum class DType : uint8_t { F32, F16, BF16, F64, I8, I16, I32, I64, U8, U16, U32, U64, Bool };

// Bytes per element.
size_t dtype_size(DType t);
// The safetensors spelling: "F32", "BF16", "U32", "BOOL", ...
std::string_view dtype_name(DType t);
// Parses a safetensors dtype tag; nullopt for unknown tags.
std::optional<DType> dtype_from_name(std::string_view name);
bool is_floating(DType t);

// Scalar half-precision conversions (round to nearest even), bit-exact with IEEE / bfloat16.
inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = uint32_t{h} << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);  // NaN
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

}  // namespace mlxlm
