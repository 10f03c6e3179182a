// batch_generate on the sample model against the float64 goldens and single-sequence generation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/error.h"
#include "io/json.h"
#include "mlxlm/batch.h"
#include "models/registry.h"
#include "testing/goldens.h"
#include "testing/shared_data.h"
#include "tokenizer/tokenizer.h"

namespace mlxlm {
namespace {

constexpr int32_t kEos = 2;  // the goldens' EOS id (golden/README.md)

struct Golden {
  std::vector<int32_t> prompt;
  std::vector<int32_t> expected;  // the golden greedy tokens the float32 model must reproduce
  bool ends_with_eos = false;
};

// Each golden prompt with the tokens up to its safe prefix (where float32 must agree with the
// float64 reference), cut before the first EOS when that comes first.
std::vector<Golden> goldens() {
  std::vector<Golden> out;
  for (const Json& g : testing::tinystories_goldens()) {
    Golden e;
    e.prompt = g["prompt_ids"].get<std::vector<int32_t>>();
    auto ids = g["greedy_ids_64_ignoring_eos"].get<std::vector<int32_t>>();
    size_t n = g["safe_prefix_len"].get<size_t>();
    if (!g["first_eos_index"].is_null() && g["first_eos_index"].get<size_t>() < n) {
      n = g["first_eos_index"].get<size_t>();
      e.ends_with_eos = true;
    }
    e.expected.assign(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n));
    out.push_back(std::move(e));
  }
  return out;
}

class BatchGenerateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = load_model(testing::tinystories_dir());
    tokenizer_ = Tokenizer::load(testing::tinystories_dir());
    for (const Golden& g : goldens_) {
      prompts_.push_back(g.prompt);
      // One token more than the golden safe prefix when it ends at EOS, so that the EOS stop is
      // what ends the row; otherwise exactly the safe prefix.
      max_tokens_.push_back(static_cast<int>(g.expected.size()) + (g.ends_with_eos ? 1 : 0));
    }
  }

  std::unique_ptr<Model> model_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  const std::vector<Golden> goldens_ = goldens();
  std::vector<std::vector<int32_t>> prompts_;
  std::vector<int> max_tokens_;
};

TEST_F(BatchGenerateTest, GreedyRowsMatchTheGoldensAndLeaveEosOut) {
  ASSERT_TRUE(std::any_of(goldens_.begin(), goldens_.end(), [](const Golden& g) {
    return g.ends_with_eos;
  })) << "the goldens should include a prompt that stops at EOS";
  BatchGenerateResult r = batch_generate(*model_, *tokenizer_, prompts_, max_tokens_, {kEos});
  ASSERT_EQ(r.token_ids.size(), goldens_.size());
  for (size_t i = 0; i < goldens_.size(); ++i) {
    SCOPED_TRACE("prompt " + std::to_string(i));
    EXPECT_EQ(r.token_ids[i], goldens_[i].expected);
    EXPECT_EQ(r.texts[i], tokenizer_->decode(goldens_[i].expected));
    ASSERT_EQ(r.logprobs[i].size(), r.token_ids[i].size());
    for (float lp : r.logprobs[i]) EXPECT_TRUE(lp <= 0.0f && std::isfinite(lp)) << lp;
    // The cache holds the prompt, the tokens and, when the row stopped there, the EOS.
    const size_t cached =
        prompts_[i].size() + r.token_ids[i].size() + (goldens_[i].ends_with_eos ? 1 : 0);
    EXPECT_EQ(r.caches[i][0]->offset(), static_cast<int64_t>(cached));
  }
  EXPECT_EQ(r.stats.generation_tokens,
            std::accumulate(max_tokens_.begin(), max_tokens_.end(), int64_t{0}));
}

// A prompt continued from a cache of its first tokens gives the same tokens as the whole prompt,
// and the given cache is left as it was.
TEST_F(BatchGenerateTest, PromptCachesHoldTheStartOfEachPrompt) {
  std::vector<PromptCache> starts;
  std::vector<std::vector<int32_t>> rests;
  for (const auto& p : prompts_) {
    const auto split = static_cast<std::ptrdiff_t>(p.size() / 2);
    PromptCache c = model_->make_cache();
    model_->forward(std::vector<int32_t>(p.begin(), p.begin() + split), 1, c, true);
    starts.push_back(std::move(c));
    rests.emplace_back(p.begin() + split, p.end());
  }
  std::vector<const PromptCache*> given;
  for (const auto& c : starts) given.push_back(&c);
  BatchGenerateResult r =
      batch_generate(*model_, *tokenizer_, rests, max_tokens_, {kEos}, {}, given);
  for (size_t i = 0; i < goldens_.size(); ++i) {
    EXPECT_EQ(r.token_ids[i], goldens_[i].expected) << "prompt " << i;
    EXPECT_EQ(starts[i][0]->offset(), static_cast<int64_t>(prompts_[i].size() / 2));
  }
  EXPECT_THROW(batch_generate(*model_, *tokenizer_, rests, max_tokens_, {kEos}, {}, {given[0]}),
               InvalidInput);
}

// A row whose logits processor throws ends early with the error, keeping the tokens it had; the
// other rows are the goldens, with no error.
TEST_F(BatchGenerateTest, ARowThatFailsKeepsItsTokensAndTheErrorTheOthersFinish) {
  ASSERT_GE(goldens_.size(), 2u);
  const size_t bad = 1;
  ASSERT_GE(goldens_[bad].expected.size(), 3u);
  const std::vector<int32_t> bad_prompt = prompts_[bad];
  BatchGeneratorOptions o;
  // Called with the row's tokens so far (prompt and generated): it throws for the bad row when
  // choosing its fourth token.
  o.logits_processors = {[&](std::span<const int32_t> tokens, std::span<float>) {
    if (tokens.size() == bad_prompt.size() + 3 &&
        std::equal(bad_prompt.begin(), bad_prompt.end(), tokens.begin())) {
      throw InvalidInput("test", "no token fits");
    }
  }};
  BatchGenerateResult r = batch_generate(*model_, *tokenizer_, prompts_, max_tokens_, {kEos}, o);
  ASSERT_EQ(r.errors.size(), goldens_.size());
  for (size_t i = 0; i < goldens_.size(); ++i) {
    SCOPED_TRACE("prompt " + std::to_string(i));
    if (i == bad) {
      EXPECT_NE(r.errors[i].find("no token fits"), std::string::npos) << r.errors[i];
      EXPECT_EQ(r.token_ids[i], std::vector<int32_t>(goldens_[i].expected.begin(),
                                                     goldens_[i].expected.begin() + 3));
    } else {
      EXPECT_EQ(r.errors[i], "");
      EXPECT_EQ(r.token_ids[i], goldens_[i].expected);
    }
  }
}

}  // namespace
}  // namespace mlxlm
