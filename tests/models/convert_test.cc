// mlxlm convert and synth as libraries: what they write, and that the result loads.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "base/mapped_file.h"
#include "io/json.h"
#include "io/weight_store.h"
#include "models/convert.h"
#include "models/registry.h"
#include "models/synthetic.h"
#include "nn/linear.h"
#include "random_model.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

namespace fs = std::filesystem;

std::string write_source(const testing::TempDir& dir, int layers = 8) {
  testing::RandomModelSpec spec;
  spec.layers = layers;
  spec.hidden = 64;
  spec.intermediate = 128;
  spec.tied = false;
  std::string src = dir.file("hf");
  fs::create_directories(src);
  testing::write_random_model(src, spec);
  write_file_atomic(src + "/tokenizer.json", "{}");
  return src;
}

TEST(Convert, QuantizesWithMlxLayoutConfigAndIndex) {
  testing::TempDir dir;
  ConvertOptions o;
  o.hf_path = write_source(dir);
  o.mlx_path = dir.file("q4");
  o.quantize = true;
  o.dtype = "bfloat16";
  ConvertResult r = convert_model(o);
  EXPECT_EQ(r.quantized_modules, 8 * 7 + 2);  // 7 linears per layer, embeddings, lm_head
  EXPECT_NEAR(r.bits_per_weight, 4.5, 0.1);
  Json config = read_json_file(o.mlx_path + "/config.json");
  EXPECT_EQ(config["quantization"], (Json{{"group_size", 64}, {"bits", 4}, {"mode", "affine"}}));
  EXPECT_EQ(config["quantization_config"], config["quantization"]);
  EXPECT_TRUE(fs::exists(o.mlx_path + "/tokenizer.json"));
  Json index = read_json_file(o.mlx_path + "/model.safetensors.index.json");
  EXPECT_EQ(index["weight_map"]["model.layers.0.mlp.up_proj.scales"], "model.safetensors");
  // The data area starts on a cache line (mlx leaves it wherever its header ends).
  uint64_t header_len = 0;
  std::memcpy(&header_len, read_file(o.mlx_path + "/model.safetensors").data(), 8);
  EXPECT_EQ((8 + header_len) % 64, 0u);
  auto store = WeightStore::open_dir(o.mlx_path);
  EXPECT_EQ(store.metadata().at("format"), "mlx");
  TensorView w = store.get("model.layers.0.mlp.up_proj.weight");
  EXPECT_EQ(w.dtype(), DType::U32);
  EXPECT_EQ(w.shape(), (Shape{128, 64 * 4 / 32}));
  EXPECT_EQ(store.get("model.layers.0.mlp.up_proj.scales").dtype(), DType::BF16);
  EXPECT_EQ(store.get("model.norm.weight").dtype(), DType::BF16);
  auto model = load_model(o.mlx_path);
  PromptCache cache = model->make_cache();
  Tensor logits = model->forward(std::vector<int32_t>{1, 2, 3}, 1, cache, false);
  EXPECT_EQ(logits.dim(2), 128);
  EXPECT_THROW(convert_model(o), InvalidInput);  // the output exists now
}

TEST(Convert, MixedRecipeWritesPerModuleEntries) {
  testing::TempDir dir;
  ConvertOptions o;
  o.hf_path = write_source(dir);
  o.mlx_path = dir.file("mixed");
  o.quantize = true;
  o.quant_predicate = "mixed_3_6";
  convert_model(o);
  Json q = read_json_file(o.mlx_path + "/config.json")["quantization"];
  // 8 layers: layer 0 and 7 (first/last eighth) and layer 3 ((3 - 1) % 3 == 2) get 6 bits.
  EXPECT_EQ(q["model.layers.0.self_attn.v_proj"]["bits"], 6);
  EXPECT_EQ(q["model.layers.3.mlp.down_proj"]["bits"], 6);
  EXPECT_EQ(q["model.layers.2.mlp.down_proj"]["bits"], 3);
  EXPECT_EQ(q["model.layers.3.mlp.up_proj"]["bits"], 3);
  EXPECT_EQ(q["lm_head"]["bits"], 6);
  auto store = WeightStore::open_dir(o.mlx_path);
  EXPECT_EQ(store.get("model.layers.3.mlp.down_proj.weight").dim(1), 128 * 6 / 32);
  auto model = load_model(o.mlx_path);
  PromptCache cache = model->make_cache();
  EXPECT_NO_THROW(model->forward(std::vector<int32_t>{4, 5}, 1, cache, true));
}

TEST(Convert, DequantizeRoundTripsToFloat) {
  testing::TempDir dir;
  ConvertOptions q;
  q.hf_path = write_source(dir, 2);
  q.mlx_path = dir.file("q8");
  q.quantize = true;
  q.q_bits = 8;
  q.q_mode = "affine";
  convert_model(q);
  ConvertOptions d;
  d.hf_path = q.mlx_path;
  d.mlx_path = dir.file("deq");
  d.dequantize = true;
  convert_model(d);
  Json config = read_json_file(d.mlx_path + "/config.json");
  EXPECT_FALSE(config.contains("quantization"));
  EXPECT_FALSE(config.contains("quantization_config"));
  // Every dequantized weight is exactly scale * q + bias of the quantized one.
  auto qs = WeightStore::open_dir(q.mlx_path);
  auto ds = WeightStore::open_dir(d.mlx_path);
  for (const std::string m : {"model.layers.1.mlp.down_proj", "model.embed_tokens", "lm_head"}) {
    LinearTensors lt;
    lt.weight = qs.get(m + ".weight");
    lt.scales = qs.get(m + ".scales");
    lt.biases = qs.get(m + ".biases");
    lt.quant = {8, 64, QuantMode::Affine};
    kernels::WeightRef ref = make_weight_ref(lt, m);
    TensorView deq = ds.get(m + ".weight");
    ASSERT_EQ(deq.dtype(), DType::F32);
    ASSERT_EQ(deq.shape(), (Shape{ref.rows, ref.cols}));
    std::vector<float> row(ref.cols);
    for (int64_t r = 0; r < ref.rows; ++r) {
      kernels::dequantize_row(ref, r, row.data());
      ASSERT_EQ(0, std::memcmp(row.data(), static_cast<const float*>(deq.data()) + r * ref.cols,
                               ref.cols * 4))
          << m << " row " << r;
    }
  }
  EXPECT_NO_THROW(load_model(d.mlx_path));
}

TEST(Convert, MxFp4AndBadOptions) {
  testing::TempDir dir;
  ConvertOptions o;
  o.hf_path = write_source(dir, 1);
  o.mlx_path = dir.file("fp4");
  o.quantize = true;
  o.q_mode = "mxfp4";
  convert_model(o);
  Json q = read_json_file(o.mlx_path + "/config.json")["quantization"];
  EXPECT_EQ(q, (Json{{"group_size", 32}, {"bits", 4}, {"mode", "mxfp4"}}));
  auto model = load_model(o.mlx_path);
  PromptCache cache = model->make_cache();
  EXPECT_NO_THROW(model->forward(std::vector<int32_t>{1}, 1, cache, true));

  ConvertOptions bad = o;
  bad.mlx_path = dir.file("bad");
  bad.q_mode = "affine";
  bad.q_bits = 7;
  EXPECT_THROW(convert_model(bad), InvalidInput);
  EXPECT_FALSE(fs::exists(bad.mlx_path));
  bad.q_bits = 4;
  bad.quant_predicate = "mixed_9_9";
  EXPECT_THROW(convert_model(bad), InvalidInput);
}

TEST(Synth, DeterministicFromSeedAndLoads) {
  testing::TempDir dir;
  SyntheticShape s = synthetic_shape("smollm2-135m");
  s.hidden = 64;
  s.layers = 2;
  s.heads = 4;
  s.kv_heads = 2;
  s.intermediate = 96;
  s.vocab = 256;
  SynthOptions opt;
  opt.seed = 5;
  write_synthetic_model(s, dir.file("a"), opt);
  write_synthetic_model(s, dir.file("b"), opt);
  opt.seed = 6;
  write_synthetic_model(s, dir.file("c"), opt);
  EXPECT_EQ(read_file(dir.file("a/model.safetensors")), read_file(dir.file("b/model.safetensors")));
  EXPECT_NE(read_file(dir.file("a/model.safetensors")), read_file(dir.file("c/model.safetensors")));
  auto store = WeightStore::open_dir(dir.file("a"));
  TensorView e = store.get("model.embed_tokens.weight");
  EXPECT_EQ(e.dtype(), DType::BF16);
  Tensor f = to_f32(e);
  double sum = 0, sq = 0;
  for (float v : f.span<float>()) {
    sum += v;
    sq += double{v} * v;
  }
  const double n = static_cast<double>(f.numel());
  EXPECT_NEAR(sum / n, 0.0, 0.002);
  EXPECT_NEAR(std::sqrt(sq / n), 0.02, 0.001);
  float norm0 = 0.0f;  // (mapped data may be misaligned: read it with convert_to_f32)
  convert_to_f32(store.get("model.norm.weight").data(), DType::BF16, 1, &norm0);
  EXPECT_EQ(norm0, 1.0f);
  auto model = load_model(dir.file("a"));
  EXPECT_EQ(model->info().vocab_size, 256);
  EXPECT_THROW(synthetic_shape("gpt-5"), InvalidInput);
  EXPECT_THROW(write_synthetic_model(s, dir.file("a"), opt), InvalidInput);
}

}  // namespace
}  // namespace mlxlm
