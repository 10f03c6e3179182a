// WordPiece (HF tokenizers' models::wordpiece): greedy longest-match-first with a
// continuing-subword prefix; a word with any unmatched part becomes unk as a whole.
#include "tokenizer/model_spec.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace mlxlm::tok {
namespace {

class WordPieceModel : public Model {
 public:
  explicit WordPieceModel(const ModelSpec& spec) {
    const std::string where = "model (WordPiece)";
    vocab_.build(spec.vocab, where + ".vocab");
    prefix_ = get<std::string>(spec.options, "continuing_subword_prefix", "##", where);
    max_chars_ = get<size_t>(spec.options, "max_input_chars_per_word", 100, where);
    std::string unk = get<std::string>(spec.options, "unk_token", "[UNK]", where);
    unk_ = vocab_.find(unk);
    if (!unk_) fail(where, "unk_token '" + unk + "' is not in the vocabulary");
  }

  void tokenize(std::string_view word, bool, std::vector<int32_t>& ids) const override {
    size_t chars = 0;
    for (size_t i = 0; i < word.size(); ++chars) unicode::decode(word, i);
    if (chars > max_chars_) {
      ids.push_back(*unk_);
      return;
    }
    std::vector<int32_t> out;
    std::string key;
    size_t start = 0;
    while (start < word.size()) {
      // Candidate ends at every character boundary, longest first.
      std::vector<size_t> ends;
      for (size_t i = start; i < word.size();) {
        unicode::decode(word, i);
        ends.push_back(i);
      }
      std::optional<int32_t> found;
      size_t found_end = 0;
      for (auto it = ends.rbegin(); it != ends.rend(); ++it) {
        key.clear();
        if (start > 0) key = prefix_;
        key.append(word.substr(start, *it - start));
        if ((found = vocab_.find(key))) {
          found_end = *it;
          break;
        }
      }
      if (!found) {
        ids.push_back(*unk_);
        return;
      }
      out.push_back(*found);
      start = found_end;
    }
    ids.insert(ids.end(), out.begin(), out.end());
  }
  std::optional<int32_t> token_to_id(std::string_view token) const override {
    return vocab_.find(token);
  }
  std::optional<std::string_view> id_to_token(int32_t id) const override {
    return vocab_.token(id);
  }
  int32_t vocab_size() const override { return vocab_.size(); }
  std::optional<int32_t> unk_id() const override { return unk_; }

 private:
  Vocab vocab_;
  std::string prefix_;
  size_t max_chars_ = 100;
  std::optional<int32_t> unk_;
};

}  // namespace

std::unique_ptr<Model> make_wordpiece_model(const ModelSpec& spec) {
  return std::make_unique<WordPieceModel>(spec);
}

}  // namespace mlxlm::tok
