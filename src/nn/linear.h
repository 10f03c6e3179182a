#pragma once
// y = x Wᵀ (+ b) for any weight format: float or quantized weights are the same Linear.
#include <initializer_list>
#include <optional>
#include <utility>
#include <vector>

#include "kernels/weight.h"
#include "quant/quant_config.h"
#include "tensor/tensor.h"

namespace mlxlm {

// The tensors of one linear module as stored (mlx layout for quantized ones, spec 4.3).
struct LinearTensors {
  TensorView weight;
  std::optional<TensorView> scales;  // present iff quantized
  std::optional<TensorView> biases;  // affine quantization offsets
  std::optional<TensorView> bias;    // the module's additive bias
  QuantParams quant;                 // used when `scales` is present
};

// Builds the kernel view of a weight, validating shapes; `name` appears in errors.
kernels::WeightRef make_weight_ref(const LinearTensors& t, const std::string& name);

class Linear {
 public:
  Linear() = default;
  Linear(const LinearTensors& t, const std::string& name);

  // x [m, in_features] -> y [m, out_features].
  void forward(const float* x, int64_t m, float* y) const;
  int64_t in_features() const { return w_.cols; }
  int64_t out_features() const { return w_.rows; }
  const kernels::WeightRef& weight() const { return w_; }
  const float* bias() const { return bias_.empty() ? nullptr : bias_.data(); }

 private:
  kernels::WeightRef w_;
  std::vector<float> bias_;
};

// Several Linears on one input x [m, in_features]: outputs[i].second = x W_iᵀ (+ b_i). The
// input is prepared once and the threads are handed all of the rows at once (q/k/v, gate/up).
void forward_group(const float* x, int64_t m,
                   std::initializer_list<std::pair<const Linear*, float*>> outputs);

// Token embeddings; a tied head reuses the same table through as_linear().
class Embedding {
 public:
  Embedding() = default;
  Embedding(const LinearTensors& t, const std::string& name);

  // out[i] = row ids[i] of the table, as f32. Throws InvalidInput for an out-of-range id.
  void lookup(const int32_t* ids, int64_t n, float* out) const;
  Linear as_linear() const;
  int64_t vocab_size() const { return w_.rows; }
  int64_t dim() const { return w_.cols; }

 private:
  kernels::WeightRef w_;
  LinearTensors tensors_;
  std::string name_;
};

class RMSNorm {
 public:
  RMSNorm() = default;
  RMSNorm(const TensorView& weight, float eps);
  // Normalises `rows` rows of length dim() from x into y (x == y allowed).
  void forward(const float* x, int64_t rows, float* y) const;
  int64_t dim() const { return static_cast<int64_t>(weight_.size()); }

 private:
  std::vector<float> weight_;
  float eps_ = 1e-6f;
};

}  // namespace mlxlm
