#pragma once
// Scalar loads that tolerate any alignment: mlx writes safetensors without padding, so a
// mapped tensor may start at any byte and typed pointer reads would be undefined behaviour.
#include <cstdint>
#include <cstring>

#include "tensor/dtype.h"

namespace mlxlm::kernels {

inline uint16_t load_u16(const void* base, int64_t i) {
  uint16_t v;
  std::memcpy(&v, static_cast<const uint8_t*>(base) + i * 2, 2);
  return v;
}

inline float load_f32(const void* base, int64_t i) {
  float v;
  std::memcpy(&v, static_cast<const uint8_t*>(base) + i * 4, 4);
  return v;
}

// Element i of a F32, F16 or BF16 array as f32 (0 for other dtypes).
inline float load_float(const void* base, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::F32:
      return load_f32(base, i);
    case DType::F16:
      return f16_to_f32(load_u16(base, i));
    case DType::BF16:
      return bf16_to_f32(load_u16(base, i));
    default:
      return 0.0f;
  }
}

}  // namespace mlxlm::kernels
