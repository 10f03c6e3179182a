// `mlxlm convert`: Hugging Face model folder -> mlx model folder (spec 1.5).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "base/timer.h"
#include "cli_common.h"
#include "commands.h"
#include "models/convert.h"

namespace mlxlm::cli {

int run_convert(int argc, char** argv) {
  CLI::App app{"Convert a Hugging Face model to mlx format, optionally quantized", "mlxlm convert"};
  ConvertOptions o;
  int bits = 0, group = 0;
  app.add_option("--hf-path,--model", o.hf_path, "source model folder")->required();
  app.add_option("--mlx-path", o.mlx_path, "output folder (must not exist)")->capture_default_str();
  app.add_flag("-q,--quantize", o.quantize, "quantize the weights");
  app.add_option("--q-bits", bits, "bits per weight (default: 4)");
  app.add_option("--q-group-size", group, "group size (default: 64 affine, 32 mxfp4)");
  app.add_option("--q-mode", o.q_mode, "affine | mxfp4")->capture_default_str();
  app.add_option("--quant-predicate", o.quant_predicate,
                 "mixed_2_6 | mixed_3_4 | mixed_3_6 | mixed_4_6");
  app.add_option("--dtype", o.dtype, "float16 | bfloat16 | float32 (default: config torch_dtype)");
  app.add_flag("-d,--dequantize", o.dequantize, "dequantize a quantized model");
  if (auto status = parse_flags(app, argc, argv)) return *status;
  if (bits > 0) o.q_bits = bits;
  if (group > 0) o.q_group_size = group;
  return run_guarded("convert", [&] {
    Timer timer;
    ConvertResult r = convert_model(o);
    if (o.quantize) {
      std::printf("[INFO] Quantized model with %.3f bits per weight.\n", r.bits_per_weight);
    }
    std::printf("wrote %s in %.1f s\n", o.mlx_path.c_str(), timer.seconds());
    return 0;
  });
}

}  // namespace mlxlm::cli
