// One test per way a prompt-cache file can be wrong; each checks that loading fails with a
// message that names the problem.
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "cache/kv_cache.h"
#include "cache/prompt_cache_file.h"
#include "cache_test_util.h"
#include "io/safetensors.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

using testing::uniform;

struct Entry {
  std::string name;
  Tensor tensor;
};

class MalformedFile : public ::testing::Test {
 protected:
  void write(const std::vector<Entry>& tensors, const std::map<std::string, std::string>& meta) {
    std::vector<NamedTensor> named;
    for (const auto& e : tensors) named.push_back({e.name, e.tensor.view()});
    save_safetensors(file_, named, meta);
  }
  // Loading must fail with a message containing every one of `parts`.
  void expect_error(const std::vector<std::string>& parts) {
    try {
      load_prompt_cache(file_);
      ADD_FAILURE() << "loaded a malformed file";
    } catch (const InvalidInput& e) {
      const std::string msg = e.what();
      for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << msg;
    }
  }
  static std::vector<Entry> kv_layer(const std::string& l, int64_t tokens = 5) {
    std::vector<Entry> v;
    v.push_back({l + ".0", uniform({1, 2, tokens, 4}, 1)});
    v.push_back({l + ".1", uniform({1, 2, tokens, 4}, 2)});
    return v;
  }

  testing::TempDir dir_;
  std::string file_ = dir_.file("bad.safetensors");
};

TEST_F(MalformedFile, UnknownClassName) {
  write(kv_layer("0"), {{"0.0", ""}, {"2.0", "FancyKVCache"}});
  expect_error({"bad.safetensors", "layer 0", "unknown cache class 'FancyKVCache'"});
}

TEST_F(MalformedFile, MissingTensor) {
  auto t = kv_layer("0");
  t.pop_back();
  write(t, {{"0.0", ""}, {"2.0", "KVCache"}});
  expect_error({"layer 0 (KVCache)", "missing tensor '0.1'"});
}

TEST_F(MalformedFile, ExtraTensorInLayer) {
  auto t = kv_layer("0");
  t.push_back({"0.2", uniform({1, 2, 5, 4}, 3)});
  write(t, {{"0.0", ""}, {"2.0", "KVCache"}});
  expect_error({"layer 0 (KVCache)", "unexpected tensor '0.2'"});
}

TEST_F(MalformedFile, TensorForMissingLayer) {
  auto t = kv_layer("0");
  auto t1 = kv_layer("1");
  for (auto& e : t1) t.push_back(std::move(e));
  write(t, {{"0.0", ""}, {"2.0", "KVCache"}});
  expect_error({"unexpected tensor '1.0'", "the file has 1 layers"});
}

TEST_F(MalformedFile, LayerWithoutClassName) {
  auto t = kv_layer("0");
  auto t1 = kv_layer("2");
  for (auto& e : t1) t.push_back(std::move(e));
  write(t, {{"2.0", "KVCache"}, {"2.2", "KVCache"}});
  expect_error({"no class name for layer 1"});
}

TEST_F(MalformedFile, NoClassNamesAtAll) {
  write(kv_layer("0"), {{"format", "mlx"}});
  expect_error({"unexpected metadata key 'format'"});
  write(kv_layer("0"), {});
  expect_error({"not a prompt-cache file"});
}

TEST_F(MalformedFile, RotatingShapeContradictsMetaState) {
  // 10 stored tokens, but the meta state says only 5 were ever seen.
  write(
      kv_layer("0", 10),
      {{"0.0.0", "0"}, {"0.0.1", "8"}, {"0.0.2", "5"}, {"0.0.3", "5"}, {"2.0", "RotatingKVCache"}});
  expect_error({"layer 0 (RotatingKVCache)", "holds 10 tokens", "offset 5"});
}

TEST_F(MalformedFile, QuantizedShapeContradictsBits) {
  // 4-bit codes for head dim 32 are 4 words; the meta state claims 8 bits.
  std::vector<Entry> t;
  for (const char* kv : {"0.0", "0.1"}) {
    t.push_back({std::string(kv) + ".0", Tensor(DType::U32, {1, 2, 3, 4})});
    t.push_back({std::string(kv) + ".1", uniform({1, 2, 3, 1}, 1)});
    t.push_back({std::string(kv) + ".2", uniform({1, 2, 3, 1}, 2)});
  }
  write(t, {{"0.0.0", "3"}, {"0.0.1", "32"}, {"0.0.2", "8"}, {"2.0", "QuantizedKVCache"}});
  expect_error({"layer 0 (QuantizedKVCache)", "do not match bits 8 and group size 32"});
}

TEST_F(MalformedFile, QuantizedOffsetContradictsTokens) {
  std::vector<Entry> t;
  for (const char* kv : {"0.0", "0.1"}) {
    t.push_back({std::string(kv) + ".0", Tensor(DType::U32, {1, 2, 3, 4})});
    t.push_back({std::string(kv) + ".1", uniform({1, 2, 3, 1}, 1)});
    t.push_back({std::string(kv) + ".2", uniform({1, 2, 3, 1}, 2)});
  }
  write(t, {{"0.0.0", "7"}, {"0.0.1", "32"}, {"0.0.2", "4"}, {"2.0", "QuantizedKVCache"}});
  expect_error({"holds 3 tokens but its meta state says offset 7"});
}

TEST_F(MalformedFile, WrongKeyDtype) {
  std::vector<Entry> t;
  t.push_back({"0.0", Tensor(DType::I32, {1, 2, 5, 4})});
  t.push_back({"0.1", uniform({1, 2, 5, 4}, 2)});
  write(t, {{"0.0", ""}, {"2.0", "KVCache"}});
  expect_error({"layer 0 (KVCache)", "KVCache keys have dtype I32, expected F32, F16 or BF16"});
}

TEST_F(MalformedFile, WrongQuantizedCodeDtype) {
  std::vector<Entry> t;
  for (const char* kv : {"0.0", "0.1"}) {
    t.push_back({std::string(kv) + ".0", uniform({1, 2, 3, 4}, 0)});
    t.push_back({std::string(kv) + ".1", uniform({1, 2, 3, 1}, 1)});
    t.push_back({std::string(kv) + ".2", uniform({1, 2, 3, 1}, 2)});
  }
  write(t, {{"0.0.0", "3"}, {"0.0.1", "32"}, {"0.0.2", "4"}, {"2.0", "QuantizedKVCache"}});
  expect_error({"QuantizedKVCache keys codes must be a U32"});
}

TEST_F(MalformedFile, KeysAndValuesDisagree) {
  std::vector<Entry> t;
  t.push_back({"0.0", uniform({1, 2, 5, 4}, 1)});
  t.push_back({"0.1", uniform({1, 2, 6, 4}, 2)});
  write(t, {{"0.0", ""}, {"2.0", "KVCache"}});
  expect_error({"disagree on batch, heads or token count"});
}

TEST_F(MalformedFile, KeysOfWrongRank) {
  std::vector<Entry> t;
  t.push_back({"0.0", uniform({2, 5, 4}, 1)});
  t.push_back({"0.1", uniform({2, 5, 4}, 2)});
  write(t, {{"0.0", ""}, {"2.0", "KVCache"}});
  expect_error({"KVCache keys must have 4 dimensions, got shape [2, 5, 4]"});
}

TEST_F(MalformedFile, BadMetaStateValue) {
  write(kv_layer("0", 5), {{"0.0.0", "0"},
                           {"0.0.1", "eight"},
                           {"0.0.2", "5"},
                           {"0.0.3", "5"},
                           {"2.0", "RotatingKVCache"}});
  expect_error({"RotatingKVCache meta state entry 1 ('eight') is not an integer"});
}

TEST_F(MalformedFile, MetaStateForCacheWithoutOne) {
  write(kv_layer("0"), {{"0.0", "surprise"}, {"2.0", "KVCache"}});
  expect_error({"KVCache has no meta state"});
}

TEST_F(MalformedFile, BatchOffsetsContradictPadding) {
  std::vector<Entry> t = kv_layer("0", 5);
  for (auto& e : t) e.tensor = uniform({2, 2, 5, 4}, 3);
  Tensor off(DType::I32, {2}), lp(DType::I32, {2});
  off.data<int32_t>()[0] = 5;
  off.data<int32_t>()[1] = 9;
  lp.data<int32_t>()[0] = 0;
  lp.data<int32_t>()[1] = 0;
  t.push_back({"0.2", std::move(off)});
  t.push_back({"0.3", std::move(lp)});
  write(t, {{"0.0", ""}, {"2.0", "BatchKVCache"}});
  expect_error({"BatchKVCache row 1: offset 9 plus left_padding 0 must equal the 5 stored tokens"});
}

TEST_F(MalformedFile, TruncatedFile) {
  write(kv_layer("0"), {{"0.0", ""}, {"2.0", "KVCache"}});
  const auto size = std::filesystem::file_size(file_);
  std::filesystem::resize_file(file_, size - 17);
  expect_error({"cannot read prompt cache", "run past"});
  std::filesystem::resize_file(file_, 12);
  expect_error({"cannot read prompt cache", "runs past the end"});
}

TEST_F(MalformedFile, NotSafetensorsAtAll) {
  std::ofstream(file_) << "this is not a prompt cache";
  expect_error({"cannot read prompt cache"});
}

TEST_F(MalformedFile, MissingFile) {
  EXPECT_ANY_THROW(load_prompt_cache(dir_.file("nope.safetensors")));
}

}  // namespace
}  // namespace mlxlm
