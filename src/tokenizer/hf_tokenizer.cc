#include "tokenizer/hf_tokenizer.h"

#include "tokenizer/clean_up.h"
#include "tokenizer/unicode.h"

namespace mlxlm::tok {

HfTokenizer::HfTokenizer(Pipeline pipeline, SpecialTokens specials)
    : pipeline_(std::move(pipeline)), specials_(std::move(specials)) {
  vocab_size_ = pipeline_.model->vocab_size();
  for (const auto& t : pipeline_.added.tokens()) {
    vocab_size_ = std::max(vocab_size_, t.id + 1);
    if (t.special) special_ids_.insert(t.id);
  }
  for (const auto& s : specials_.additional) {
    if (auto id = token_to_id(s)) special_ids_.insert(*id);
  }
  if (!specials_.bos.empty()) bos_id_ = token_to_id(specials_.bos);
  if (!specials_.eos.empty()) eos_id_ = token_to_id(specials_.eos);
}

std::optional<int32_t> HfTokenizer::token_to_id(std::string_view token) const {
  if (const auto* t = pipeline_.added.by_content(token)) return t->id;
  return pipeline_.model->token_to_id(token);
}

std::optional<std::string_view> HfTokenizer::token_view(int32_t id) const {
  if (const auto* t = pipeline_.added.by_id(id)) return std::string_view(t->content);
  return pipeline_.model->id_to_token(id);
}

std::optional<std::string> HfTokenizer::id_to_token(int32_t id) const {
  auto v = token_view(id);
  if (!v) return std::nullopt;
  return std::string(*v);
}

void HfTokenizer::encode_text(std::string_view text, bool first_section,
                              std::vector<int32_t>& ids) const {
  Pieces pieces;
  pieces.emplace_back(text);
  if (pipeline_.pre_tokenizer) pipeline_.pre_tokenizer->pre_tokenize(pieces, first_section);
  for (const auto& p : pieces) pipeline_.model->tokenize(p, pipeline_.raw_bytes, ids);
}

std::vector<int32_t> HfTokenizer::encode(std::string_view input, bool add_special_tokens) const {
  // Everything downstream (the regex engine included) relies on well-formed UTF-8.
  std::string valid;
  std::string_view text = input;
  if (!unicode::is_valid_utf8(input)) {
    valid = unicode::to_valid_utf8(input);
    text = valid;
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  std::vector<Section> sections, subsections;
  pipeline_.added.split(text, false, sections);
  for (const auto& s : sections) {
    if (s.added_id >= 0) {
      ids.push_back(s.added_id);
      continue;
    }
    bool first = s.offset == 0;
    if (!pipeline_.normalizer) {
      subsections.clear();
      pipeline_.added.split(s.text, true, subsections);
      for (const auto& sub : subsections) {
        if (sub.added_id >= 0) {
          ids.push_back(sub.added_id);
        } else {
          encode_text(sub.text, first && sub.offset == 0, ids);
        }
      }
      continue;
    }
    std::string normalized = pipeline_.normalizer->normalize(s.text);
    subsections.clear();
    pipeline_.added.split(normalized, true, subsections);
    for (const auto& sub : subsections) {
      if (sub.added_id >= 0) {
        ids.push_back(sub.added_id);
      } else {
        encode_text(sub.text, first && sub.offset == 0, ids);
      }
    }
  }
  if (pipeline_.post_processor) pipeline_.post_processor->process(ids, add_special_tokens);
  return ids;
}

std::string HfTokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  DecodeTokens t;
  t.tokens.reserve(ids.size());
  t.added.reserve(ids.size());
  for (int32_t id : ids) {
    if (skip_special_tokens && is_special(id)) continue;
    auto v = token_view(id);
    if (!v) continue;  // ids outside the vocabulary decode to nothing
    t.tokens.emplace_back(*v);
    t.added.push_back(is_added(id) ? 1 : 0);
  }
  std::string out;
  if (pipeline_.decoder) {
    pipeline_.decoder->decode_chain(t);
    for (const auto& s : t.tokens) out += s;
  } else {
    for (size_t k = 0; k < t.tokens.size(); ++k) {
      if (k) out += ' ';
      out += t.tokens[k];
    }
  }
  if (specials_.clean_up_tokenization_spaces) out = clean_up_tokenization(out);
  return out;
}

std::unique_ptr<StreamingDetokenizer> HfTokenizer::make_detokenizer() const {
  return make_streaming_detokenizer(*this, pipeline_.detokenizer, pipeline_.spm_trim_space);
}

}  // namespace mlxlm::tok
