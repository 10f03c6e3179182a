#pragma once
// Rotary position embeddings with the rope_scaling variants of Hugging Face configs:
// default, linear, llama3 and yarn.
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace mlxlm {

struct RopeScaling {
  std::string type = "default";  // "default", "linear", "llama3", "yarn"
  double factor = 1.0;
  // llama3
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_max_position_embeddings = 8192;
  // yarn
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  double mscale_all_dim = 0.0;
  double attention_factor = 0.0;  // 0 = derive from factor and mscale
  bool truncate = true;
};

class RoPE {
 public:
  RoPE() = default;
  // rot_dim: features rotated per head (head_dim times partial_rotary_factor).
  RoPE(int64_t rot_dim, double theta, const RopeScaling& scaling, bool traditional = false);

  // Rotates x[tokens, heads, head_dim] in place; token t sits at position positions[t].
  void apply(float* x, int64_t tokens, int64_t heads, int64_t head_dim,
             const int64_t* positions) const;
  const std::vector<float>& inv_freq() const { return inv_freq_; }
  float attention_scale() const { return attention_scale_; }

 private:
  int64_t rot_dim_ = 0;
  std::vector<float> inv_freq_;
  float attention_scale_ = 1.0f;
  bool traditional_ = false;
};

}  // namespace mlxlm
