#pragma once
// Builds nn modules from named tensors of a WeightStore, quantized or not (spec 4.2-4.3).
#include <string>

#include "io/weight_store.h"
#include "nn/linear.h"

namespace mlxlm {

// The tensors of module `prefix` ("model.layers.0.self_attn.q_proj"): prefix.weight, plus
// prefix.scales/.biases when quantized (and the config does not exclude it), plus prefix.bias.
LinearTensors linear_tensors(const WeightStore& store, const std::string& prefix,
                             const QuantConfig& quant);
Linear load_linear(const WeightStore& store, const std::string& prefix, const QuantConfig& quant);
RMSNorm load_rms_norm(const WeightStore& store, const std::string& prefix, double eps);

}  // namespace mlxlm
