#include "quant/quant_config.h"

#include "base/error.h"

namespace mlxlm {

std::optional<QuantParams> QuantConfig::for_module(const std::string& path) const {
  auto it = overrides.find(path);
  if (it != overrides.end()) return it->second;
  return global;
}

QuantMode parse_quant_mode(const std::string& mode) {
  if (mode.empty() || mode == "affine") return QuantMode::Affine;
  if (mode == "mxfp4") return QuantMode::MxFp4;
  throw InvalidInput("quant", "unsupported quantization mode '" + mode + "' (affine, mxfp4)");
}

}  // namespace mlxlm
