// Unigram language model (HF tokenizers' models::unigram): Viterbi segmentation maximising the
// sum of piece log-probabilities; unknown characters become unk (fused), or bytes with
// byte_fallback.
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

#include "tokenizer/model_spec.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace mlxlm::tok {
namespace {

constexpr double kUnkPenalty = 10.0;

class UnigramModel : public Model {
 public:
  explicit UnigramModel(const ModelSpec& spec) {
    const std::string where = "model (Unigram)";
    std::vector<std::pair<std::string_view, int64_t>> entries;
    entries.reserve(spec.scored_vocab.size());
    scores_.reserve(spec.scored_vocab.size());
    double min_score = std::numeric_limits<double>::infinity();
    for (size_t k = 0; k < spec.scored_vocab.size(); ++k) {
      entries.emplace_back(spec.scored_vocab[k].first, static_cast<int64_t>(k));
      scores_.push_back(spec.scored_vocab[k].second);
      min_score = std::min(min_score, spec.scored_vocab[k].second);
      max_len_ = std::max(max_len_, spec.scored_vocab[k].first.size());
    }
    vocab_.build(entries, where + ".vocab");
    unk_score_ = (std::isfinite(min_score) ? min_score : 0.0) - kUnkPenalty;
    if (auto it = spec.options.find("unk_id"); it != spec.options.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
          it->get<int64_t>() >= static_cast<int64_t>(scores_.size())) {
        fail(where, "unk_id is out of range");
      }
      unk_ = it->get<int32_t>();
    }
    byte_fallback_ = get<bool>(spec.options, "byte_fallback", false, where);
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      byte_ids_[b] = vocab_.find(name).value_or(-1);
    }
  }

  void tokenize(std::string_view piece, bool, std::vector<int32_t>& ids) const override {
    size_t n = piece.size();
    if (n == 0) return;
    // best[i]: best score of a segmentation of piece[0, i); from[i]: start of its last piece.
    std::vector<double> best(n + 1, -std::numeric_limits<double>::infinity());
    std::vector<size_t> from(n + 1, 0);
    std::vector<int32_t> via(n + 1, -1);
    best[0] = 0;
    size_t i = 0;
    while (i < n) {
      size_t char_end = i;
      unicode::decode(piece, char_end);
      if (std::isfinite(best[i])) {
        bool single_char = false;
        for (size_t end = char_end; end <= n && end - i <= max_len_;) {
          if (auto id = vocab_.find(piece.substr(i, end - i))) {
            double s = best[i] + scores_[*id];
            if (end == char_end) single_char = true;
            if (s > best[end]) best[end] = s, from[end] = i, via[end] = *id;
          }
          if (end == n) break;
          unicode::decode(piece, end);
        }
        if (!single_char && best[i] + unk_score_ > best[char_end]) {
          best[char_end] = best[i] + unk_score_;
          from[char_end] = i;
          via[char_end] = -1;  // unknown
        }
      }
      i = char_end;
    }
    std::vector<std::pair<size_t, int32_t>> rev;  // (start, id or -1)
    for (size_t end = n; end > 0; end = from[end]) rev.emplace_back(from[end], via[end]);
    bool prev_unk = false;
    for (auto it = rev.rbegin(); it != rev.rend(); ++it) {
      if (it->second >= 0) {
        ids.push_back(it->second);
        prev_unk = false;
        continue;
      }
      size_t start = it->first;
      size_t end = it + 1 == rev.rend() ? n : (it + 1)->first;
      if (byte_fallback_) {
        bool all = true;
        for (size_t k = start; k < end; ++k)
          all = all && byte_ids_[static_cast<uint8_t>(piece[k])] >= 0;
        if (all) {
          for (size_t k = start; k < end; ++k)
            ids.push_back(byte_ids_[static_cast<uint8_t>(piece[k])]);
          prev_unk = false;
          continue;
        }
      }
      if (!unk_) continue;
      if (!prev_unk) ids.push_back(*unk_);  // consecutive unknowns fuse into one unk
      prev_unk = true;
    }
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
  std::vector<double> scores_;
  size_t max_len_ = 0;
  double unk_score_ = 0;
  std::optional<int32_t> unk_;
  bool byte_fallback_ = false;
  std::array<int32_t, 256> byte_ids_{};
};

}  // namespace

std::unique_ptr<Model> make_unigram_model(const ModelSpec& spec) {
  return std::make_unique<UnigramModel>(spec);
}

}  // namespace mlxlm::tok
