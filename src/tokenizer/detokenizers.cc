// Streaming detokenizers (mlx-lm's Naive / SPM / BPE, spec 6.1), written so that the pieces
// always concatenate to exactly decode(ids): each keeps back only what a later token can change.
#include "tokenizer/byte_level.h"
#include "tokenizer/clean_up.h"
#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/unicode.h"

namespace mlxlm::tok {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";
constexpr std::string_view kMetaspace = "\xE2\x96\x81";

class DetokenizerBase : public StreamingDetokenizer {
 public:
  explicit DetokenizerBase(const HfTokenizer& t)
      : tokenizer_(t), clean_up_(t.clean_up_tokenization_spaces()) {}
  void reset() override {
    tokens_.clear();
    text_.clear();
    held_.clear();
    segment_start_ = 0;
    on_reset();
  }
  std::string last_segment() override {
    std::string s = text_.substr(segment_start_);
    segment_start_ = text_.size();
    return s;
  }
  const std::string& text() const override { return text_; }
  const std::vector<int32_t>& tokens() const override { return tokens_; }

 protected:
  virtual void on_reset() {}
  // Appends decoded text (whole characters) before clean-up.
  void emit(std::string_view s) {
    if (!clean_up_) {
      text_.append(s);
      return;
    }
    held_.append(s);
    // Clean up everything up to the last byte no clean-up rule can touch; the rest waits.
    size_t cut = held_.size();
    while (cut > 0) {
      auto c = static_cast<unsigned char>(held_[cut - 1]);
      bool char_end =
          cut == held_.size() || (static_cast<unsigned char>(held_[cut]) & 0xC0) != 0x80;
      if (char_end && (c >= 0x80 || clean_up_cut_after(static_cast<char>(c)))) break;
      --cut;
    }
    if (cut == 0) return;
    text_ += clean_up_tokenization(std::string_view(held_).substr(0, cut));
    held_.erase(0, cut);
  }
  void flush_clean_up() {
    if (!held_.empty()) text_ += clean_up_tokenization(held_);
    held_.clear();
  }

  const HfTokenizer& tokenizer_;
  bool clean_up_;
  std::vector<int32_t> tokens_;
  std::string text_;
  std::string held_;
  size_t segment_start_ = 0;
};

int byte_token(std::string_view tok) {
  if (tok.size() != 6 || tok.substr(0, 3) != "<0x" || tok[5] != '>') return -1;
  int v = 0;
  for (char c : tok.substr(3, 2)) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// Decoder Sequence[Replace("▁", " "), ByteFallback, Fuse, (Strip(" ", 1, 0))].
class SentencePieceDetokenizer : public DetokenizerBase {
 public:
  SentencePieceDetokenizer(const HfTokenizer& t, bool trim_space)
      : DetokenizerBase(t), trim_space_(trim_space) {}
  void add_token(int32_t id) override {
    tokens_.push_back(id);
    auto tok = tokenizer_.token_view(id);
    if (!tok) return;
    int b = byte_token(*tok);
    if (b >= 0) {
      // A run of byte tokens decodes as a whole (invalid runs become one U+FFFD per byte).
      bytes_.push_back(static_cast<char>(b));
      return;
    }
    flush_bytes();
    std::string s;
    s.reserve(tok->size());
    for (size_t i = 0; i < tok->size();) {
      if (tok->substr(i, kMetaspace.size()) == kMetaspace) {
        s.push_back(' ');
        i += kMetaspace.size();
      } else {
        s.push_back((*tok)[i++]);
      }
    }
    put(s);
  }
  void finalize() override {
    flush_bytes();
    flush_clean_up();
  }

 private:
  void on_reset() override {
    bytes_.clear();
    started_ = false;
  }
  void flush_bytes() {
    if (bytes_.empty()) return;
    if (unicode::is_valid_utf8(bytes_)) {
      put(bytes_);
    } else {
      std::string r;
      for (size_t k = 0; k < bytes_.size(); ++k) r += kReplacementChar;
      put(r);
    }
    bytes_.clear();
  }
  void put(std::string_view s) {
    if (s.empty()) return;
    if (!started_) {
      started_ = true;
      if (trim_space_ && s[0] == ' ') s.remove_prefix(1);
    }
    emit(s);
  }
  bool trim_space_;
  bool started_ = false;
  std::string bytes_;
};

// Decoder ByteLevel: token characters map back to bytes; added tokens stay verbatim.
class ByteLevelDetokenizer : public DetokenizerBase {
 public:
  using DetokenizerBase::DetokenizerBase;
  void add_token(int32_t id) override {
    tokens_.push_back(id);
    auto tok = tokenizer_.token_view(id);
    if (!tok) return;
    if (tokenizer_.is_added(id)) {
      flush_bytes();
      emit(*tok);
      return;
    }
    size_t mark = bytes_.size();
    if (!byte_level::decode(*tok, bytes_)) {
      bytes_.resize(mark);
      bytes_.append(*tok);
    }
    size_t n = unicode::stable_prefix(bytes_);
    if (n == 0) return;
    emit(unicode::to_valid_utf8(std::string_view(bytes_).substr(0, n)));
    bytes_.erase(0, n);
  }
  void finalize() override {
    flush_bytes();
    flush_clean_up();
  }

 private:
  void on_reset() override { bytes_.clear(); }
  void flush_bytes() {
    if (!bytes_.empty()) emit(unicode::to_valid_utf8(bytes_));
    bytes_.clear();
  }
  std::string bytes_;
};

// Any other decoder: decode everything again and release what can no longer change.
class NaiveDetokenizer : public DetokenizerBase {
 public:
  using DetokenizerBase::DetokenizerBase;
  void add_token(int32_t id) override {
    tokens_.push_back(id);
    std::string full = tokenizer_.decode(tokens_);
    if (full.compare(0, text_.size(), text_) != 0) return;  // not monotone yet: wait
    // Keep back a trailing replacement character and the last few characters, which a later
    // token may still complete or clean up.
    size_t end = full.size();
    for (int k = 0; k < 8 && end > text_.size(); ++k) {
      size_t start = end - 1;
      while (start > text_.size() && (static_cast<unsigned char>(full[start]) & 0xC0) == 0x80)
        --start;
      end = start;
    }
    if (end > text_.size()) text_.append(full, text_.size(), end - text_.size());
  }
  void finalize() override {
    std::string full = tokenizer_.decode(tokens_);
    if (full.compare(0, text_.size(), text_) == 0)
      text_.append(full, text_.size(), std::string::npos);
  }
};

}  // namespace

std::unique_ptr<StreamingDetokenizer> make_streaming_detokenizer(const HfTokenizer& tokenizer,
                                                                 DetokenizerKind kind,
                                                                 bool trim_space) {
  switch (kind) {
    case DetokenizerKind::kSentencePiece:
      return std::make_unique<SentencePieceDetokenizer>(tokenizer, trim_space);
    case DetokenizerKind::kByteLevel:
      return std::make_unique<ByteLevelDetokenizer>(tokenizer);
    case DetokenizerKind::kNaive:
      break;
  }
  return std::make_unique<NaiveDetokenizer>(tokenizer);
}

}  // namespace mlxlm::tok
