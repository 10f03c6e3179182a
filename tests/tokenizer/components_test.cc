// Components the eight golden tokenizers do not use, checked against examples worked out by hand
// from the Hugging Face tokenizers documentation and the Unicode standard.
#include <gtest/gtest.h>

#include <fstream>

#include "testing/shared_data.h"
#include "tokenizer/components.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace mlxlm {
namespace {

std::string normalize(const Json& j, const std::string& text) {
  return tok::make_normalizer(j)->normalize(text);
}

tok::Pieces pre_tokenize(const Json& j, const std::string& text) {
  tok::Pieces p{text};
  tok::make_pre_tokenizer(j)->pre_tokenize(p, true);
  return p;
}

std::string decode(const Json& j, std::vector<std::string> tokens) {
  tok::DecodeTokens t;
  t.tokens = std::move(tokens);
  t.added.assign(t.tokens.size(), 0);
  tok::make_decoder(j)->decode_chain(t);
  std::string out;
  for (const auto& s : t.tokens) out += s;
  return out;
}

TEST(Normalizers, UnicodeForms) {
  EXPECT_EQ(unicode::nfc("e\xCC\x81"), "\xC3\xA9");                     // e + U+0301 -> é
  EXPECT_EQ(unicode::nfd("\xC3\xA9"), "e\xCC\x81");                     // é -> e + U+0301
  EXPECT_EQ(unicode::nfc("\xE2\x84\xAB"), "\xC3\x85");                  // U+212B ANGSTROM -> U+00C5
  EXPECT_EQ(unicode::nfkc("\xEF\xAC\x81"), "fi");                       // U+FB01 ligature
  EXPECT_EQ(unicode::nfd("\xEA\xB0\x80"), "\xE1\x84\x80\xE1\x85\xA1");  // 가 -> jamo
  EXPECT_EQ(unicode::nfc("\xE1\x84\x80\xE1\x85\xA1"), "\xEA\xB0\x80");  // and back
  EXPECT_EQ(unicode::nfd("a\xCC\x87\xCC\xA3"),
            "a\xCC\xA3\xCC\x87");  // canonical order (ccc 220 < 230)
  EXPECT_EQ(normalize({{"type", "NFKD"}}, "\xC2\xBD"),
            "1\xE2\x81\x84"
            "2");  // ½ -> 1⁄2
}

TEST(Normalizers, SimpleOnes) {
  EXPECT_EQ(normalize({{"type", "Lowercase"}},
                      "\xC3\x80"
                      "B\xC4\xB0"),
            "\xC3\xA0"
            "bi\xCC\x87");
  EXPECT_EQ(normalize({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}},
                      " \t hi \xE3\x80\x80"),
            "hi");
  EXPECT_EQ(normalize({{"type", "Sequence"},
                       {"normalizers", {{{"type", "NFD"}}, {{"type", "StripAccents"}}}}},
                      "caf\xC3\xA9"),
            "cafe");
  EXPECT_EQ(normalize({{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", " "}},
                      "a \t\n b"),
            "a b");
  EXPECT_EQ(normalize({{"type", "Prepend"}, {"prepend", "_"}}, "x"), "_x");
  EXPECT_EQ(normalize({{"type", "Prepend"}, {"prepend", "_"}}, ""), "");
}

TEST(Normalizers, Bert) {
  Json bert = {{"type", "BertNormalizer"},
               {"clean_text", true},
               {"handle_chinese_chars", true},
               {"strip_accents", nullptr},
               {"lowercase", true}};
  EXPECT_EQ(normalize(bert, "H\xC3\xA9llo\tWORLD\xE4\xB8\xAD\x01"), "hello world \xE4\xB8\xAD ");
}

TEST(PreTokenizers, SplitBehaviorsFromTheDocs) {
  auto split = [](const char* behavior) {
    return pre_tokenize({{"type", "Split"},
                         {"pattern", {{"String", "-"}}},
                         {"behavior", behavior},
                         {"invert", false}},
                        "the-final--countdown");
  };
  EXPECT_EQ(split("Removed"), (tok::Pieces{"the", "final", "countdown"}));
  EXPECT_EQ(split("Isolated"), (tok::Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split("MergedWithPrevious"), (tok::Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split("MergedWithNext"), (tok::Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split("Contiguous"), (tok::Pieces{"the", "-", "final", "--", "countdown"}));
}

TEST(PreTokenizers, WhitespaceFamily) {
  const std::string text = "Hey friend!  How are you?!?";
  EXPECT_EQ(pre_tokenize({{"type", "Whitespace"}}, text),
            (tok::Pieces{"Hey", "friend", "!", "How", "are", "you", "?!?"}));
  EXPECT_EQ(pre_tokenize({{"type", "WhitespaceSplit"}}, text),
            (tok::Pieces{"Hey", "friend!", "How", "are", "you?!?"}));
  EXPECT_EQ(pre_tokenize({{"type", "BertPreTokenizer"}}, text),
            (tok::Pieces{"Hey", "friend", "!", "How", "are", "you", "?", "!", "?"}));
  EXPECT_EQ(pre_tokenize({{"type", "Punctuation"}}, "Hey friend!"),
            (tok::Pieces{"Hey friend", "!"}));
}

TEST(PreTokenizers, DigitsMetaspaceByteLevel) {
  EXPECT_EQ(pre_tokenize({{"type", "Digits"}, {"individual_digits", true}}, "Call 123 please"),
            (tok::Pieces{"Call ", "1", "2", "3", " please"}));
  EXPECT_EQ(pre_tokenize({{"type", "Digits"}, {"individual_digits", false}}, "Call 123 please"),
            (tok::Pieces{"Call ", "123", " please"}));
  EXPECT_EQ(
      pre_tokenize(
          {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"}},
          "Hey friend"),
      (tok::Pieces{"\xE2\x96\x81Hey",
                   "\xE2\x96\x81"
                   "friend"}));
  EXPECT_EQ(pre_tokenize({{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}},
                         "Hello there"),
            (tok::Pieces{"\xC4\xA0Hello", "\xC4\xA0there"}));
}

TEST(Decoders, WordPieceMetaspaceBpeCtc) {
  EXPECT_EQ(decode({{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}},
                   {"un", "##aff", "##able", "is", "ok", "."}),
            "unaffable is ok.");
  EXPECT_EQ(
      decode({{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"prepend_scheme", "always"}},
             {"\xE2\x96\x81Hey",
              "\xE2\x96\x81"
              "friend"}),
      "Hey friend");
  EXPECT_EQ(
      decode({{"type", "BPEDecoder"}, {"suffix", "</w>"}}, {"hel", "lo</w>", "wor", "ld</w>"}),
      "hello world");
  EXPECT_EQ(decode({{"type", "CTC"},
                    {"pad_token", "<pad>"},
                    {"word_delimiter_token", "|"},
                    {"cleanup", true}},
                   {"<pad>", "h", "h", "e", "l", "l", "<pad>", "l", "o", "|", "w"}),
            "hello w");
  EXPECT_EQ(decode({{"type", "ByteFallback"}}, {"a", "<0xE2>", "<0x82>", "<0xAC>", "<0xE2>", "b"}),
            // a run of byte tokens that is not valid UTF-8 becomes one U+FFFD per byte
            "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "b");
}

// Writes a tokenizer.json around `model` and loads it.
std::shared_ptr<const Tokenizer> load_model(testing::TempDir& dir, const Json& model,
                                            const Json& pre = nullptr) {
  Json j = {{"version", "1.0"},     {"added_tokens", Json::array()}, {"normalizer", nullptr},
            {"pre_tokenizer", pre}, {"post_processor", nullptr},     {"decoder", nullptr},
            {"model", model}};
  std::ofstream(dir.file("tokenizer.json")) << j.dump();
  return Tokenizer::load(dir.path());
}

TEST(Models, UnigramViterbi) {
  testing::TempDir dir;
  Json model = {{"type", "Unigram"},
                {"unk_id", 0},
                {"vocab", Json::array({Json::array({"<unk>", 0.0}), Json::array({"a", -1.0}),
                                       Json::array({"b", -2.0}), Json::array({"ab", -1.5}),
                                       Json::array({"c", -3.0})})}};
  auto tok = load_model(dir, model);
  EXPECT_EQ(tok->encode("ab", false), (std::vector<int32_t>{3}));  // -1.5 beats -1 + -2
  EXPECT_EQ(tok->encode("abc", false), (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(tok->encode("xyab", false),
            (std::vector<int32_t>{0, 3}));  // unknowns fuse into one unk
}

TEST(Models, WordPieceGreedyLongestMatch) {
  testing::TempDir dir;
  Json model = {
      {"type", "WordPiece"},
      {"unk_token", "[UNK]"},
      {"continuing_subword_prefix", "##"},
      {"max_input_chars_per_word", 100},
      {"vocab", {{"[UNK]", 0}, {"un", 1}, {"##aff", 2}, {"##able", 3}, {"a", 4}, {"##a", 5}}}};
  auto tok = load_model(dir, model, {{"type", "WhitespaceSplit"}});
  EXPECT_EQ(tok->encode("unaffable a", false), (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(tok->encode("unx", false), (std::vector<int32_t>{0}));
}

TEST(Models, BpeSuffixAndUnknownFusion) {
  testing::TempDir dir;
  Json model = {{"type", "BPE"},
                {"unk_token", "<unk>"},
                {"fuse_unk", true},
                {"end_of_word_suffix", "</w>"},
                {"vocab", {{"<unk>", 0}, {"l", 1}, {"o</w>", 2}, {"lo</w>", 3}, {"h", 4}}},
                {"merges", {"l o</w>"}}};
  auto tok = load_model(dir, model, {{"type", "WhitespaceSplit"}});
  EXPECT_EQ(tok->encode("lo hlo", false), (std::vector<int32_t>{3, 4, 3}));
  EXPECT_EQ(tok->encode("xyzlo", false), (std::vector<int32_t>{0, 3}));  // x y z fuse into one unk
}

}  // namespace
}  // namespace mlxlm
