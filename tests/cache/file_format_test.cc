// The bytes of a prompt-cache file, read independently of our writer and reader: the header is
// parsed here with plain nlohmann::json, and by a standard-library Python script that mirrors
// mlx-lm's load_prompt_cache (read_prompt_cache.py). Names, metadata, dtypes and shapes must be
// exactly what mlx-lm's save_prompt_cache writes (spec 3.5).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cache/cache_list.h"
#include "cache/kv_cache.h"
#include "cache/prompt_cache_file.h"
#include "cache/quantized_kv_cache.h"
#include "cache/rotating_kv_cache.h"
#include "cache_test_util.h"
#include "testing/run_python.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

using nlohmann::json;
using testing::uniform;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct RawFile {
  json header;
  std::string header_text;
  std::string data;
};

RawFile read_raw(const std::string& path) {
  const std::string blob = read_all(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(blob[i]);
  RawFile r;
  r.header_text = blob.substr(8, n);
  r.header = json::parse(r.header_text);
  r.data = blob.substr(8 + n);
  return r;
}

json run_python_reader(const std::string& file) {
  const std::string script =
      (std::filesystem::path(__FILE__).parent_path() / "read_prompt_cache.py").string();
  return json::parse(testing::run_python(script, {file}));
}

TEST(PromptCacheFileFormat, TwoLayerF16KVCacheMatchesSpecExample) {
  testing::TempDir dir;
  PromptCache cache;
  std::vector<Tensor> inputs;
  for (int l = 0; l < 2; ++l) {
    auto c = std::make_unique<KVCache>();
    Tensor k = uniform({1, 8, 10, 128}, l), v = uniform({1, 8, 10, 128}, 10 + l);
    c->update_and_fetch(k, v);
    inputs.push_back(std::move(k));
    cache.push_back(std::move(c));
  }
  const std::string file =
      save_prompt_cache(dir.file("cache"), cache,
                        {{"model", "org/model"}, {"tokenizer_config", "{\"a\": 1}"}}, DType::F16);
  RawFile raw = read_raw(file);
  // mlx writes compact JSON with sorted keys and no padding.
  EXPECT_EQ(raw.header_text, raw.header.dump());
  const json expected_meta = {{"0.0", ""},
                              {"0.1", ""},
                              {"1.model", "org/model"},
                              {"1.tokenizer_config", "{\"a\": 1}"},
                              {"2.0", "KVCache"},
                              {"2.1", "KVCache"}};
  EXPECT_EQ(raw.header["__metadata__"], expected_meta);
  std::vector<std::string> names;
  for (auto it = raw.header.begin(); it != raw.header.end(); ++it) names.push_back(it.key());
  EXPECT_EQ(names, (std::vector<std::string>{"0.0", "0.1", "1.0", "1.1", "__metadata__"}));
  uint64_t total = 0;
  for (const char* n : {"0.0", "0.1", "1.0", "1.1"}) {
    EXPECT_EQ(raw.header[n]["dtype"], "F16");
    EXPECT_EQ(raw.header[n]["shape"], json::array({1, 8, 10, 128}));
    total += 1 * 8 * 10 * 128 * 2;
  }
  EXPECT_EQ(raw.data.size(), total);
  // The bytes of layer 1's keys are the IEEE half rounding of what went in.
  const uint64_t begin = raw.header["1.0"]["data_offsets"][0];
  for (int64_t i = 0; i < inputs[1].numel(); i += 97) {
    uint16_t h;
    std::memcpy(&h, raw.data.data() + begin + 2 * i, 2);
    EXPECT_EQ(h, f32_to_f16(inputs[1].data<float>()[i])) << i;
  }

  json py = run_python_reader(file);
  EXPECT_TRUE(py["header_is_compact_sorted"].get<bool>());
  EXPECT_TRUE(py["data_is_packed"].get<bool>());
  EXPECT_EQ(py["classes"], json::array({"KVCache", "KVCache"}));
  EXPECT_EQ(py["meta_states"], json::array({"", ""}));
  EXPECT_EQ(py["user_metadata"],
            json({{"model", "org/model"}, {"tokenizer_config", "{\"a\": 1}"}}));
}

TEST(PromptCacheFileFormat, NestedNamesForEveryKindOfState) {
  testing::TempDir dir;
  PromptCache cache;
  auto rot = std::make_unique<RotatingKVCache>(8, 4);
  Tensor x = uniform({1, 2, 10, 64}, 1);
  rot->update_and_fetch(x, x);
  cache.push_back(std::move(rot));
  auto q = std::make_unique<QuantizedKVCache>(64, 4);
  q->update_and_fetch(x, x);
  cache.push_back(std::move(q));
  std::vector<std::unique_ptr<Cache>> children;
  children.push_back(std::make_unique<KVCache>());
  children.push_back(std::make_unique<RotatingKVCache>(16));
  for (auto& c : children) static_cast<AttentionCache&>(*c).update_and_fetch(x, x);
  cache.push_back(std::make_unique<CacheList>(std::move(children)));
  const std::string file =
      save_prompt_cache(dir.file("nested.safetensors"), cache, {}, DType::BF16);

  RawFile raw = read_raw(file);
  const json expected_meta = {{"0.0.0", "4"},
                              {"0.0.1", "8"},
                              {"0.0.2", "10"},
                              {"0.0.3", "10"},
                              {"0.1.0", "10"},
                              {"0.1.1", "64"},
                              {"0.1.2", "4"},
                              {"0.2.0.0", "KVCache"},
                              {"0.2.0.1", "RotatingKVCache"},
                              {"0.2.1.0", ""},
                              {"0.2.1.1.0", "0"},
                              {"0.2.1.1.1", "16"},
                              {"0.2.1.1.2", "10"},
                              {"0.2.1.1.3", "10"},
                              {"2.0", "RotatingKVCache"},
                              {"2.1", "QuantizedKVCache"},
                              {"2.2", "CacheList"}};
  EXPECT_EQ(raw.header["__metadata__"], expected_meta);
  auto expect = [&](const std::string& name, const std::string& dtype, json shape) {
    ASSERT_TRUE(raw.header.contains(name)) << name;
    EXPECT_EQ(raw.header[name]["dtype"], dtype) << name;
    EXPECT_EQ(raw.header[name]["shape"], shape) << name;
  };
  expect("0.0", "BF16", {1, 2, 10, 64});
  expect("0.1", "BF16", {1, 2, 10, 64});
  for (const char* kv : {"1.0", "1.1"}) {
    expect(std::string(kv) + ".0", "U32", {1, 2, 10, 8});
    expect(std::string(kv) + ".1", "BF16", {1, 2, 10, 1});
    expect(std::string(kv) + ".2", "BF16", {1, 2, 10, 1});
  }
  expect("2.0.0", "BF16", {1, 2, 10, 64});
  expect("2.1.1", "BF16", {1, 2, 10, 64});
  EXPECT_EQ(raw.header.size(), 2u + 6u + 4u + 1u);

  json py = run_python_reader(file);
  EXPECT_EQ(py["classes"], json::array({"RotatingKVCache", "QuantizedKVCache", "CacheList"}));
  EXPECT_EQ(py["meta_states"][2],
            json::array({json::array({"KVCache", "RotatingKVCache"}),
                         json::array({"", json::array({"0", "16", "10", "10"})})}));
  EXPECT_TRUE(py["data_is_packed"].get<bool>());
}

}  // namespace
}  // namespace mlxlm
