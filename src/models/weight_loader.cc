#include "models/weight_loader.h"

#include "base/error.h"

namespace mlxlm {

LinearTensors linear_tensors(const WeightStore& store, const std::string& prefix,
                             const QuantConfig& quant) {
  LinearTensors t;
  t.weight = store.get(prefix + ".weight");
  if (store.contains(prefix + ".scales")) {
    auto params = quant.for_module(prefix);
    if (!quant.enabled || !params) {
      throw InvalidInput("models", prefix +
                                       " has quantization scales but config.json's "
                                       "\"quantization\" does not cover it");
    }
    t.quant = *params;
    t.scales = store.get(prefix + ".scales");
    if (store.contains(prefix + ".biases")) t.biases = store.get(prefix + ".biases");
  }
  if (store.contains(prefix + ".bias")) t.bias = store.get(prefix + ".bias");
  return t;
}

Linear load_linear(const WeightStore& store, const std::string& prefix, const QuantConfig& quant) {
  return Linear(linear_tensors(store, prefix, quant), prefix);
}

RMSNorm load_rms_norm(const WeightStore& store, const std::string& prefix, double eps) {
  return RMSNorm(store.get(prefix + ".weight"), static_cast<float>(eps));
}

}  // namespace mlxlm
