#pragma once
// The Tokenizer implementation behind Tokenizer::load: a tokenizer.json pipeline plus the
// tokenizer_config.json settings that affect encoding and decoding.
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/components.h"
#include "tokenizer/tokenizer.h"

namespace mlxlm::tok {

// Which streaming detokenizer mlx-lm would pick for this tokenizer.json decoder.
enum class DetokenizerKind { kNaive, kSentencePiece, kByteLevel };

struct Pipeline {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  bool raw_bytes = false;  // a trailing plain ByteLevel pre-tokenizer was folded into the model
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;
  AddedVocabulary added;
  DetokenizerKind detokenizer = DetokenizerKind::kNaive;
  bool spm_trim_space = false;
};

struct SpecialTokens {
  std::string bos, eos, unk, pad;
  std::vector<std::string> additional;
  bool clean_up_tokenization_spaces = true;
  bool add_bos_token = false;  // informational: encoding follows tokenizer.json's post_processor
  bool add_eos_token = false;
  std::string chat_template;
  Json config = Json::object();
};

class HfTokenizer : public Tokenizer {
 public:
  HfTokenizer(Pipeline pipeline, SpecialTokens specials);

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const override;
  std::unique_ptr<StreamingDetokenizer> make_detokenizer() const override;

  int32_t vocab_size() const override { return vocab_size_; }
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::optional<std::string> id_to_token(int32_t id) const override;
  bool is_special(int32_t id) const override { return special_ids_.count(id) != 0; }

  const std::string& bos_token() const override { return specials_.bos; }
  const std::string& eos_token() const override { return specials_.eos; }
  std::optional<int32_t> bos_token_id() const override { return bos_id_; }
  std::optional<int32_t> eos_token_id() const override { return eos_id_; }
  const std::string& chat_template() const override { return specials_.chat_template; }
  const Json& config() const override { return specials_.config; }

  // For the detokenizers: the token string of `id` (added tokens first), and whether it is one.
  std::optional<std::string_view> token_view(int32_t id) const;
  bool is_added(int32_t id) const { return pipeline_.added.by_id(id) != nullptr; }
  bool clean_up_tokenization_spaces() const { return specials_.clean_up_tokenization_spaces; }

 private:
  void encode_text(std::string_view text, bool first_section, std::vector<int32_t>& ids) const;

  Pipeline pipeline_;
  SpecialTokens specials_;
  std::unordered_set<int32_t> special_ids_;
  std::optional<int32_t> bos_id_, eos_id_;
  int32_t vocab_size_ = 0;
};

std::unique_ptr<StreamingDetokenizer> make_streaming_detokenizer(const HfTokenizer& tokenizer,
                                                                 DetokenizerKind kind,
                                                                 bool trim_space);

}  // namespace mlxlm::tok
