#pragma once
// config.json's "quantization" (or "quantization_config") block: global parameters plus
// per-module overrides (a dict, or false = leave that module unquantized). Spec 4.2.
#include <map>
#include <optional>
#include <string>

namespace mlxlm {

enum class QuantMode { Affine, MxFp4 };

struct QuantParams {
  int bits = 4;
  int group_size = 64;
  QuantMode mode = QuantMode::Affine;
};

struct QuantConfig {
  bool enabled = false;  // a "quantization" block exists
  QuantParams global;
  std::map<std::string, std::optional<QuantParams>> overrides;  // nullopt = false

  // Parameters for the module at `path` (e.g. "model.layers.0.mlp.down_proj"), or nullopt when
  // the config says to leave it alone. Whether the module is actually quantized is decided by
  // the presence of "<path>.scales" in the weights, as mlx-lm does.
  std::optional<QuantParams> for_module(const std::string& path) const;
};

// Parses the block from config.json text already decoded by the caller (see models/).
QuantMode parse_quant_mode(const std::string& mode);

}  // namespace mlxlm
