#pragma once
// `mlxlm convert` as a library: Hugging Face (or mlx) model folder in, mlx model folder out,
// optionally cast, quantized (affine 2-8 bits or mxfp4, mixed recipes) or dequantized. Writes
// what mlx-lm's convert writes (spec 4.5): mlx tensor names and bit layout, "quantization" and
// "quantization_config" in config.json, shards of at most 5 GiB with an index, tokenizer files.
#include <cstdint>
#include <optional>
#include <string>

namespace mlxlm {

struct ConvertOptions {
  std::string hf_path;                 // source folder
  std::string mlx_path = "mlx_model";  // output folder; must not exist
  bool quantize = false;
  std::optional<int> q_bits;        // default per mode: affine 4, mxfp4 4
  std::optional<int> q_group_size;  // default per mode: affine 64, mxfp4 32
  std::string q_mode = "affine";    // affine | mxfp4
  std::string dtype;                // float16 | bfloat16 | float32; default: config torch_dtype
  bool dequantize = false;
  std::string quant_predicate;  // "" or mixed_2_6 | mixed_3_4 | mixed_3_6 | mixed_4_6
};

struct ConvertResult {
  int64_t quantized_modules = 0;
  double bits_per_weight = 0.0;  // over all parameters, as mlx-lm reports it
};

// Throws InvalidInput / FileError naming the problem; never leaves a partial mlx_path behind.
ConvertResult convert_model(const ConvertOptions& options);

}  // namespace mlxlm
