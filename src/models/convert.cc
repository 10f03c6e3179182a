#include "models/convert.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "base/error.h"
#include "io/json.h"
#include "io/weight_store.h"
#include "models/model_folder.h"
#include "models/transformer_args.h"
#include "nn/linear.h"
#include "quant/quantize.h"

namespace fs = std::filesystem;

namespace mlxlm {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string module_of(const std::string& tensor_name) {
  return tensor_name.substr(0, tensor_name.rfind('.'));
}

std::optional<DType> parse_dtype(const std::string& s) {
  if (s == "float16") return DType::F16;
  if (s == "bfloat16") return DType::BF16;
  if (s == "float32") return DType::F32;
  return std::nullopt;
}

// mlx-lm's mixed_X_Y recipes: v_proj and down_proj of the "more bits" layers (the first and
// last eighth, and every third layer in between) and lm_head get Y bits, the rest X bits.
struct MixedRecipe {
  int low = 0;
  int high = 0;
};

std::optional<MixedRecipe> parse_recipe(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name == "mixed_2_6") return MixedRecipe{2, 6};
  if (name == "mixed_3_4") return MixedRecipe{3, 4};
  if (name == "mixed_3_6") return MixedRecipe{3, 6};
  if (name == "mixed_4_6") return MixedRecipe{4, 6};
  throw InvalidInput("convert", "unknown --quant-predicate '" + name +
                                    "' (mixed_2_6, mixed_3_4, mixed_3_6, mixed_4_6)");
}

int recipe_bits(const MixedRecipe& r, const std::string& path, int64_t num_layers) {
  int64_t index = 0;
  auto pos = path.find(".layers.");
  if (pos != std::string::npos) index = std::stoll(path.substr(pos + 8));
  const int64_t l8 = num_layers / 8;
  const bool more = index < l8 || index >= 7 * num_layers / 8 || (index - l8) % 3 == 2;
  if (path.find("v_proj") != std::string::npos && more) return r.high;
  if (path.find("down_proj") != std::string::npos && more) return r.high;
  if (path.find("lm_head") != std::string::npos) return r.high;
  return r.low;
}

// Modules mlx quantizes: Linear and Embedding layers, i.e. the 2-D weights of this family.
bool quantizable_module(const std::string& weight_name, const TensorView& v) {
  return ends_with(weight_name, ".weight") && v.ndim() >= 2 && is_floating(v.dtype());
}

Tensor cast_to(const TensorView& v, DType dtype) {
  Tensor out(dtype, v.shape());
  std::vector<float> tmp(v.numel());
  convert_to_f32(v.data(), v.dtype(), v.numel(), tmp.data());
  convert_from_f32(tmp.data(), v.numel(), dtype, out.data());
  return out;
}

std::string readme(const ConvertOptions& o) {
  return "---\nlibrary_name: mlx\ntags:\n- mlx\nbase_model: " +
         fs::path(o.hf_path).filename().string() +
         "\n---\n\nConverted with `mlxlm convert` from `" + o.hf_path + "`.\n";
}

}  // namespace

ConvertResult convert_model(const ConvertOptions& o) {
  if (fs::exists(o.mlx_path)) {
    throw InvalidInput("convert", "cannot save to " + o.mlx_path + ": it already exists");
  }
  if (o.quantize && o.dequantize) {
    throw InvalidInput("convert", "choose either --quantize or --dequantize");
  }
  const std::string config_path = o.hf_path + "/config.json";
  Json config = read_json_file(config_path);
  const QuantConfig source_q = parse_quant_config(config, config_path);
  if (o.quantize && source_q.enabled) {
    throw InvalidInput("convert", "cannot quantize an already quantized model");
  }
  WeightStore store = WeightStore::open_dir(o.hf_path);

  std::optional<DType> dtype;
  if (!o.dtype.empty()) {
    dtype = parse_dtype(o.dtype);
    if (!dtype) throw InvalidInput("convert", "--dtype must be float16, bfloat16 or float32");
  } else {
    dtype = parse_dtype(json_get<std::string>(config, "torch_dtype", "", config_path));
  }

  QuantParams global;
  global.mode = parse_quant_mode(o.q_mode);
  global.bits = o.q_bits.value_or(4);
  global.group_size = o.q_group_size.value_or(global.mode == QuantMode::MxFp4 ? 32 : 64);
  const auto recipe = parse_recipe(o.quant_predicate);
  if (recipe && global.mode != QuantMode::Affine) {
    throw InvalidInput("convert", "--quant-predicate works with affine quantization only");
  }
  const int64_t num_layers = json_get<int64_t>(config, "num_hidden_layers", 0, config_path);
  const bool tied = json_get<bool>(config, "tie_word_embeddings", false, config_path);

  // Names after sanitising: rotary tables are recomputed, a tied head reuses the embedding.
  std::vector<std::string> names;
  for (const auto& n : store.names()) {
    if (n.find("rotary_emb.inv_freq") != std::string::npos) continue;
    if (tied && n == "lm_head.weight") continue;
    names.push_back(n);
  }
  std::set<std::string> source_quantized;
  for (const auto& n : names) {
    if (ends_with(n, ".scales")) source_quantized.insert(module_of(n));
  }

  std::vector<std::pair<std::string, Tensor>> owned;
  std::vector<NamedTensor> out;
  Json per_module = Json::object();
  ConvertResult result;
  uint64_t logical_params = 0;
  auto emit_owned = [&](const std::string& name, Tensor t) {
    owned.emplace_back(name, std::move(t));
  };
  for (const auto& name : names) {
    const TensorView v = store.get(name);
    const std::string module = module_of(name);
    if (source_quantized.count(module) != 0) {
      if (!ends_with(name, ".weight")) {
        if (!o.dequantize) out.push_back({name, v});  // scales / biases travel with the weight
        continue;
      }
      auto params = source_q.for_module(module);
      if (!params) throw InvalidInput("convert", module + " is quantized but config.json says not");
      LinearTensors lt;
      lt.weight = v;
      lt.scales = store.get(module + ".scales");
      if (store.contains(module + ".biases")) lt.biases = store.get(module + ".biases");
      lt.quant = *params;
      const kernels::WeightRef ref = make_weight_ref(lt, module);
      logical_params += static_cast<uint64_t>(ref.rows * ref.cols);
      if (!o.dequantize) {
        out.push_back({name, v});
        continue;
      }
      Tensor f = quant::dequantize_matrix(ref);
      emit_owned(name, cast_to(f.view(), dtype.value_or(lt.scales->dtype())));
      continue;
    }
    logical_params += static_cast<uint64_t>(v.numel());
    const DType target = is_floating(v.dtype()) ? dtype.value_or(v.dtype()) : v.dtype();
    if (o.quantize && quantizable_module(name, v)) {
      QuantParams p = global;
      if (recipe) p.bits = recipe_bits(*recipe, module, num_layers);
      const int64_t cols = v.dim(-1);
      if (quant::can_quantize(cols, p)) {
        const int64_t rows = v.numel() / cols;
        Tensor f = to_f32(v);
        quant::QuantizedTensors q = quant::quantize_matrix(f.data<float>(), rows, cols, p, target);
        Shape wshape = v.shape();
        wshape.back() = cols * p.bits / 32;
        q.weight.reshape(wshape);
        Shape sshape = v.shape();
        sshape.back() = cols / p.group_size;
        q.scales.reshape(sshape);
        emit_owned(module + ".weight", std::move(q.weight));
        emit_owned(module + ".scales", std::move(q.scales));
        if (q.biases) {
          q.biases->reshape(sshape);
          emit_owned(module + ".biases", std::move(*q.biases));
        }
        if (recipe) {
          per_module[module] = {{"group_size", p.group_size},
                                {"bits", p.bits},
                                {"mode", p.mode == QuantMode::MxFp4 ? "mxfp4" : "affine"}};
        }
        ++result.quantized_modules;
        continue;
      }
    }
    if (target != v.dtype()) {
      emit_owned(name, cast_to(v, target));
    } else {
      out.push_back({name, v});  // unchanged: written straight from the mapping
    }
  }
  for (const auto& [name, t] : owned) out.push_back({name, t.view()});

  uint64_t total_bytes = 0;
  for (const auto& t : out) total_bytes += t.view.nbytes();
  result.bits_per_weight =
      logical_params > 0 ? static_cast<double>(total_bytes) * 8.0 / logical_params : 0.0;

  config.erase("_name_or_path");
  config.erase("vision_config");
  if (o.dequantize) {
    config.erase("quantization");
    config.erase("quantization_config");
  }
  if (o.quantize) {
    Json q = {{"group_size", global.group_size},
              {"bits", global.bits},
              {"mode", global.mode == QuantMode::MxFp4 ? "mxfp4" : "affine"}};
    for (auto it = per_module.begin(); it != per_module.end(); ++it) q[it.key()] = it.value();
    config["quantization"] = q;
    config["quantization_config"] = q;
  }

  ModelFolderWriter folder(o.mlx_path);
  folder.write_weights(out, {{"format", "mlx"}}, logical_params);
  folder.write_text("config.json", config.dump(4) + "\n");
  folder.copy_tokenizer_files(o.hf_path);
  folder.write_text("README.md", readme(o));
  folder.commit();
  return result;
}

}  // namespace mlxlm
