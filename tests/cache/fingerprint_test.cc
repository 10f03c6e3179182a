// A prompt cache refuses a model it does not fit, saying why.
#include "base/error.h"
#include "cache/kv_cache.h"
#include "cache/model_fingerprint.h"
#include "cache/quantized_kv_cache.h"
#include "cache_test_util.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

using testing::uniform;

ModelFingerprint tiny() {
  ModelFingerprint fp;
  fp.model_type = "llama";
  fp.num_layers = 2;
  fp.n_kv_heads = 4;
  fp.head_dim = 16;
  fp.dtype = "F32";
  fp.config_hash = "00000000000000aa";
  fp.tokenizer_hash = "00000000000000bb";
  return fp;
}

PromptCache kv_cache(int layers, int64_t heads, int64_t dim) {
  PromptCache c;
  for (int i = 0; i < layers; ++i) {
    auto kv = std::make_unique<KVCache>();
    Tensor x = uniform({1, heads, 3, dim}, i);
    kv->update_and_fetch(x, x);
    c.push_back(std::move(kv));
  }
  return c;
}

std::string refusal(const PromptCache& cache, const std::map<std::string, std::string>& meta,
                    const ModelFingerprint& model) {
  try {
    check_cache_fits_model(cache, meta, model);
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "";
}

TEST(ModelFingerprint, JsonRoundTrip) {
  const ModelFingerprint fp = tiny();
  const ModelFingerprint back = parse_fingerprint(fingerprint_json(fp));
  EXPECT_EQ(back.model_type, fp.model_type);
  EXPECT_EQ(back.num_layers, fp.num_layers);
  EXPECT_EQ(back.tokenizer_hash, fp.tokenizer_hash);
  EXPECT_THROW(parse_fingerprint("{\"model_type\": 3}"), InvalidInput);
}

TEST(ModelFingerprint, MatchingModelIsAccepted) {
  const ModelFingerprint fp = tiny();
  EXPECT_EQ(refusal(kv_cache(2, 4, 16), {{kFingerprintKey, fingerprint_json(fp)}}, fp), "");
  // Files written by mlx-lm carry no fingerprint: the tensors alone are checked.
  EXPECT_EQ(refusal(kv_cache(2, 4, 16), {}, fp), "");
}

TEST(ModelFingerprint, EachDifferenceIsNamed) {
  const ModelFingerprint fp = tiny();
  const std::map<std::string, std::string> meta = {{kFingerprintKey, fingerprint_json(fp)}};
  ModelFingerprint other = fp;
  other.model_type = "qwen2";
  EXPECT_NE(refusal(kv_cache(2, 4, 16), meta, other)
                .find("model_type is llama in the cache file but qwen2 in the model"),
            std::string::npos);
  other = fp;
  other.dtype = "BF16";
  EXPECT_NE(refusal(kv_cache(2, 4, 16), meta, other).find("the dtype is F32"), std::string::npos);
  other = fp;
  other.tokenizer_hash = std::string(16, 'f');
  EXPECT_NE(refusal(kv_cache(2, 4, 16), meta, other).find("the tokenizer files differ"),
            std::string::npos);
  other = fp;
  other.config_hash = std::string(16, 'e');
  EXPECT_NE(refusal(kv_cache(2, 4, 16), meta, other).find("config.json differs"),
            std::string::npos);
}

TEST(ModelFingerprint, TensorsCheckedWithoutFingerprint) {
  const ModelFingerprint fp = tiny();
  EXPECT_NE(refusal(kv_cache(3, 4, 16), {}, fp).find("the cache has 3 layers, the model 2"),
            std::string::npos);
  EXPECT_NE(refusal(kv_cache(2, 2, 16), {}, fp)
                .find("layer 0 holds 2 kv heads of dim 16, the model has 4 of dim 16"),
            std::string::npos);
  // Quantized layers: the head dim comes from the groups.
  PromptCache q;
  for (int i = 0; i < 2; ++i) {
    auto c = std::make_unique<QuantizedKVCache>(16, 8);
    Tensor x = uniform({1, 4, 3, 32}, i);
    c->update_and_fetch(x, x);
    q.push_back(std::move(c));
  }
  EXPECT_NE(refusal(q, {}, fp).find("holds 4 kv heads of dim 32"), std::string::npos);
}

TEST(ModelFingerprint, HashesTheModelFiles) {
  ModelFingerprint a = tiny(), b = tiny();
  hash_model_files(a, testing::tinystories_dir());
  hash_model_files(b, testing::tinystories_dir());
  EXPECT_EQ(a.config_hash, b.config_hash);
  EXPECT_EQ(a.config_hash.size(), 16u);
  EXPECT_NE(a.config_hash, a.tokenizer_hash);
}

}  // namespace
}  // namespace mlxlm
