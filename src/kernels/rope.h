#pragma once
#include <cstdint>

namespace mlxlm::kernels {

// Rotary embedding in place on x[tokens, heads, head_dim], token t at position positions[t].
// The first `rot_dim` features rotate with inverse frequencies inv_freq[rot_dim/2]; `scale`
// multiplies cos and sin (YaRN's attention factor; 1 otherwise).
// traditional=false: Hugging Face rotate-half pairs (i, i + rot_dim/2);
// traditional=true: interleaved pairs (2i, 2i+1).
struct RopeArgs {
  int64_t tokens = 0;
  int64_t heads = 0;
  int64_t head_dim = 0;
  int64_t rot_dim = 0;
  const float* inv_freq = nullptr;
  const int64_t* positions = nullptr;
  float scale = 1.0f;
  bool traditional = false;
};
void rope(float* x, const RopeArgs& args);

}  // namespace mlxlm::kernels
