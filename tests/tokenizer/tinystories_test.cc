// The sample model's tokenizer (SentencePiece-style BPE with byte_fallback, Prepend/Replace
// normalizer, TemplateProcessing), against the golden prompt ids of greedy.jsonl.
#include <gtest/gtest.h>

#include <fstream>

#include "io/json.h"
#include "testing/shared_data.h"
#include "tokenizer/tokenizer.h"

namespace mlxlm {
namespace {

TEST(TinyStoriesTokenizer, EncodesOnceUponATime) {
  auto tok = Tokenizer::load(testing::tinystories_dir());
  EXPECT_EQ(tok->encode("Once upon a time", true),
            (std::vector<int32_t>{1, 80, 147, 201, 282, 57}));
}

TEST(TinyStoriesTokenizer, GoldenPromptIds) {
  auto tok = Tokenizer::load(testing::tinystories_dir());
  std::ifstream in(testing::shared_path("golden/tinystories-656k/greedy.jsonl"));
  ASSERT_TRUE(in);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    Json j = Json::parse(line);
    auto ids = tok->encode(j.at("prompt").get<std::string>(), true);
    EXPECT_EQ(ids, j.at("prompt_ids").get<std::vector<int32_t>>()) << j.at("prompt");
    ++n;
  }
  EXPECT_GT(n, 0);
}

TEST(TinyStoriesTokenizer, ConfigTokens) {
  auto tok = Tokenizer::load(testing::tinystories_dir());
  EXPECT_EQ(tok->bos_token(), "<|start_story|>");
  EXPECT_EQ(tok->eos_token(), "<|end_story|>");
  EXPECT_EQ(tok->bos_token_id(), 1);
  EXPECT_EQ(tok->eos_token_id(), 2);
  EXPECT_TRUE(tok->is_special(2));
  EXPECT_EQ(tok->vocab_size(), 2048);
}

TEST(TinyStoriesTokenizer, StreamingEqualsDecode) {
  auto tok = Tokenizer::load(testing::tinystories_dir());
  for (const char* text : {"Once upon a time, there was a little girl.",
                           "Ünïcödé 日本語 ✓ 🙂", "a ,b\n\n3 3"}) {
    auto ids = tok->encode(text, true);
    auto detok = tok->make_detokenizer();
    std::string streamed;
    for (int32_t id : ids) {
      detok->add_token(id);
      streamed += detok->last_segment();
    }
    detok->finalize();
    streamed += detok->last_segment();
    EXPECT_EQ(streamed, tok->decode(ids)) << text;
  }
}

}  // namespace
}  // namespace mlxlm
