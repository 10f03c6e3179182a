// A prompt cache written for the tinystories prompt holds the post-RoPE keys of every layer.
// The file is read back with plain nlohmann::json and raw bytes, and the keys are compared with an
// independent float64 Llama forward written here from the safetensors weights (no nn/ or
// kernels/ code involved).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cache/prompt_cache_file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "models/make_prompt_cache.h"
#include "models/registry.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

using Mat = std::vector<double>;  // row-major

struct RefWeights {
  explicit RefWeights(const std::string& dir) : file(dir + "/model.safetensors") {}
  Mat get(const std::string& name) const {
    TensorView v = file.get(name);
    Tensor f = to_f32(v);
    return Mat(f.data<float>(), f.data<float>() + f.numel());
  }
  SafetensorsFile file;
};

// y[t, o] = sum_i x[t, i] * w[o, i]
Mat linear(const Mat& x, int64_t t, int64_t in, const Mat& w, int64_t out) {
  Mat y(t * out, 0.0);
  for (int64_t r = 0; r < t; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      double s = 0;
      for (int64_t i = 0; i < in; ++i) s += x[r * in + i] * w[o * in + i];
      y[r * out + o] = s;
    }
  }
  return y;
}

Mat rms_norm(const Mat& x, int64_t t, int64_t d, const Mat& w, double eps) {
  Mat y(x.size());
  for (int64_t r = 0; r < t; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < d; ++i) ss += x[r * d + i] * x[r * d + i];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(d) + eps);
    for (int64_t i = 0; i < d; ++i) y[r * d + i] = x[r * d + i] * inv * w[i];
  }
  return y;
}

// Hugging Face rotate-half RoPE on x [t, heads, hd], token t at position t.
void rope(Mat& x, int64_t t, int64_t heads, int64_t hd, double theta) {
  for (int64_t p = 0; p < t; ++p) {
    for (int64_t h = 0; h < heads; ++h) {
      double* v = x.data() + (p * heads + h) * hd;
      for (int64_t i = 0; i < hd / 2; ++i) {
        const double inv_freq =
            std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(hd));
        const double a = static_cast<double>(p) * inv_freq;
        const double x0 = v[i], x1 = v[i + hd / 2];
        v[i] = x0 * std::cos(a) - x1 * std::sin(a);
        v[i + hd / 2] = x1 * std::cos(a) + x0 * std::sin(a);
      }
    }
  }
}

// Post-RoPE keys per layer, [layer][kv_head][t][hd].
std::vector<Mat> reference_keys(const std::string& dir, const std::vector<int32_t>& ids) {
  const Json cfg = read_json_file(dir + "/config.json");
  const int64_t d = cfg["hidden_size"], nh = cfg["num_attention_heads"],
                nkv = cfg["num_key_value_heads"], layers = cfg["num_hidden_layers"],
                ffn = cfg["intermediate_size"];
  const double eps = cfg["rms_norm_eps"], theta = cfg["rope_theta"];
  const int64_t hd = d / nh, t = static_cast<int64_t>(ids.size());
  RefWeights w(dir);
  const Mat embed = w.get("model.embed_tokens.weight");
  Mat h(t * d);
  for (int64_t r = 0; r < t; ++r) {
    std::copy(embed.begin() + ids[r] * d, embed.begin() + (ids[r] + 1) * d, h.begin() + r * d);
  }
  std::vector<Mat> keys;
  for (int64_t l = 0; l < layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    Mat x = rms_norm(h, t, d, w.get(p + "input_layernorm.weight"), eps);
    Mat q = linear(x, t, d, w.get(p + "self_attn.q_proj.weight"), nh * hd);
    Mat k = linear(x, t, d, w.get(p + "self_attn.k_proj.weight"), nkv * hd);
    Mat v = linear(x, t, d, w.get(p + "self_attn.v_proj.weight"), nkv * hd);
    rope(q, t, nh, hd, theta);
    rope(k, t, nkv, hd, theta);
    Mat kl(nkv * t * hd);
    for (int64_t kh = 0; kh < nkv; ++kh) {
      for (int64_t r = 0; r < t; ++r) {
        for (int64_t i = 0; i < hd; ++i) kl[(kh * t + r) * hd + i] = k[(r * nkv + kh) * hd + i];
      }
    }
    keys.push_back(std::move(kl));
    Mat attn(t * nh * hd, 0.0);
    for (int64_t hh = 0; hh < nh; ++hh) {
      const int64_t kh = hh / (nh / nkv);
      for (int64_t i = 0; i < t; ++i) {
        std::vector<double> s(i + 1);
        double mx = -1e300;
        for (int64_t j = 0; j <= i; ++j) {
          double dot = 0;
          for (int64_t e = 0; e < hd; ++e)
            dot += q[(i * nh + hh) * hd + e] * k[(j * nkv + kh) * hd + e];
          s[j] = dot / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (auto& e : s) sum += (e = std::exp(e - mx));
        for (int64_t j = 0; j <= i; ++j) {
          for (int64_t e = 0; e < hd; ++e) {
            attn[(i * nh + hh) * hd + e] += s[j] / sum * v[(j * nkv + kh) * hd + e];
          }
        }
      }
    }
    Mat o = linear(attn, t, nh * hd, w.get(p + "self_attn.o_proj.weight"), d);
    for (int64_t i = 0; i < t * d; ++i) h[i] += o[i];
    x = rms_norm(h, t, d, w.get(p + "post_attention_layernorm.weight"), eps);
    Mat g = linear(x, t, d, w.get(p + "mlp.gate_proj.weight"), ffn);
    Mat u = linear(x, t, d, w.get(p + "mlp.up_proj.weight"), ffn);
    for (int64_t i = 0; i < t * ffn; ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
    Mat m = linear(g, t, ffn, w.get(p + "mlp.down_proj.weight"), d);
    for (int64_t i = 0; i < t * d; ++i) h[i] += m[i];
  }
  return keys;
}

std::vector<int32_t> first_golden_prompt() {
  std::ifstream in(testing::shared_path("golden/tinystories-656k/greedy.jsonl"));
  std::string line;
  std::getline(in, line);
  return parse_json(line, "greedy.jsonl")["prompt_ids"].get<std::vector<int32_t>>();
}

TEST(PromptCacheKeys, MatchFloat64ReferenceAndMlxLayout) {
  const std::string dir = testing::tinystories_dir();
  auto model = load_model(dir);
  const std::vector<int32_t> ids = first_golden_prompt();
  const auto t = static_cast<int64_t>(ids.size());
  PromptCache cache = make_prompt_cache(*model);
  model->forward(ids, 1, cache, true);
  testing::TempDir tmp;
  const std::string file =
      save_prompt_cache(tmp.file("tiny"), cache, {{"model", dir}}, model->info().dtype);

  // Independent reading: u64 header length, JSON header, raw little-endian data.
  std::ifstream in(file, std::ios::binary);
  const std::string blob((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t n = 0;
  std::memcpy(&n, blob.data(), 8);
  const nlohmann::json header = nlohmann::json::parse(blob.substr(8, n));
  const char* data = blob.data() + 8 + n;
  const nlohmann::json meta = {
      {"0.0", ""}, {"0.1", ""}, {"1.model", dir}, {"2.0", "KVCache"}, {"2.1", "KVCache"}};
  EXPECT_EQ(header["__metadata__"], meta);
  EXPECT_EQ(header.size(), 5u);

  const std::vector<Mat> ref = reference_keys(dir, ids);
  const int64_t nkv = model->info().n_kv_heads, hd = model->info().head_dim;
  for (int64_t l = 0; l < 2; ++l) {
    for (const char* part : {".0", ".1"}) {
      const auto& e = header[std::to_string(l) + part];
      EXPECT_EQ(e["dtype"], "F32");
      EXPECT_EQ(e["shape"], nlohmann::json::array({1, nkv, t, hd}));
    }
    const auto& e = header[std::to_string(l) + ".0"];
    const uint64_t begin = e["data_offsets"][0];
    double max_err = 0;
    for (int64_t i = 0; i < nkv * t * hd; ++i) {
      float v;
      std::memcpy(&v, data + begin + 4 * i, 4);
      max_err = std::max(max_err, std::abs(static_cast<double>(v) - ref[l][i]));
    }
    EXPECT_LT(max_err, 1e-4) << "layer " << l;
  }
}

}  // namespace
}  // namespace mlxlm
