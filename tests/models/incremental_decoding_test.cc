// Decoding token by token through the cache must give the logits of one full forward pass.
#include <gtest/gtest.h>

#include <cmath>

#include "base/mapped_file.h"
#include "models/registry.h"
#include "random_model.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

using testing::RandomModelSpec;

class IncrementalDecoding : public ::testing::TestWithParam<RandomModelSpec> {};

TEST_P(IncrementalDecoding, MatchesFullForward) {
  testing::TempDir dir;
  testing::write_random_model(dir.path(), GetParam());
  auto model = load_model(dir.path());
  const std::vector<int32_t> tokens = {5, 17, 3, 99, 42, 7, 64, 1, 100, 23, 8};
  const auto n = static_cast<int64_t>(tokens.size());
  const int64_t vocab = model->info().vocab_size;

  PromptCache full_cache = model->make_cache();
  Tensor full = model->forward(tokens, 1, full_cache, /*last_only=*/false);
  ASSERT_EQ(full.shape(), (Shape{1, n, vocab}));

  // A 4-token chunk, then one token at a time (prefill + decode, as generation does).
  PromptCache cache = model->make_cache();
  Tensor first = model->forward(std::span(tokens).first(4), 1, cache, false);
  float max_diff = 0;
  for (int64_t t = 0; t < 4; ++t) {
    for (int64_t v = 0; v < vocab; ++v) {
      max_diff = std::max(max_diff, std::abs(first.data<float>()[t * vocab + v] -
                                             full.data<float>()[t * vocab + v]));
    }
  }
  for (int64_t t = 4; t < n; ++t) {
    Tensor step = model->forward(std::span(tokens).subspan(t, 1), 1, cache, true);
    for (int64_t v = 0; v < vocab; ++v) {
      max_diff =
          std::max(max_diff, std::abs(step.data<float>()[v] - full.data<float>()[t * vocab + v]));
    }
  }
  EXPECT_LT(max_diff, 1e-4f);
  EXPECT_EQ(cache[0]->offset(), n);
}

RandomModelSpec spec(const std::string& type, bool tied, int heads, int kv_heads) {
  RandomModelSpec s;
  s.model_type = type;
  s.tied = tied;
  s.heads = heads;
  s.kv_heads = kv_heads;
  return s;
}

INSTANTIATE_TEST_SUITE_P(Architectures, IncrementalDecoding,
                         ::testing::Values(spec("llama", true, 4, 2), spec("llama", false, 4, 4),
                                           spec("mistral", true, 8, 2), spec("qwen2", false, 4, 2),
                                           spec("qwen3", true, 4, 1)),
                         [](const auto& info) {
                           return info.param.model_type + (info.param.tied ? "_tied" : "_untied") +
                                  "_kv" + std::to_string(info.param.kv_heads);
                         });

TEST(ModelLoading, UnknownModelTypeNamesIt) {
  testing::TempDir dir;
  RandomModelSpec s;
  s.model_type = "not_a_model";
  testing::write_random_model(dir.path(), s);
  try {
    load_model(dir.path());
    FAIL() << "expected an error";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("model_type 'not_a_model' is not supported"),
              std::string::npos)
        << e.what();
  }
}

TEST(ModelLoading, MissingTensorNamesIt) {
  testing::TempDir dir;
  RandomModelSpec s;
  s.model_type = "qwen3";
  Json cfg = testing::write_random_model(dir.path(), s);
  // Declare one more layer than the weights hold.
  cfg["num_hidden_layers"] = 3;
  write_file_atomic(dir.file("config.json"), cfg.dump());
  try {
    load_model(dir.path());
    FAIL() << "expected an error";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.2."), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mlxlm
