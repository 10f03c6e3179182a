// Decoders of tokenizer.json: each rewrites the list of token strings, as HF's decode_chain.
#include <memory>
#include <vector>

#include "base/utf8.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/clean_up.h"
#include "tokenizer/components.h"
#include "tokenizer/split_regex.h"
#include "tokenizer/unicode.h"

namespace mlxlm::tok {
namespace {

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts)
      : parts_(std::move(parts)) {}
  void decode_chain(DecodeTokens& t) const override {
    for (const auto& p : parts_) p->decode_chain(t);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

// Collapses the token list into one string.
void fuse(DecodeTokens& t, std::string joined) {
  t.tokens.assign(1, std::move(joined));
  t.added.assign(1, 0);
}

class ByteLevelDecoder : public Decoder {
 public:
  void decode_chain(DecodeTokens& t) const override {
    // Added tokens stay verbatim and cut the byte stream, as the reference implementation does.
    std::string out, bytes;
    auto flush = [&] {
      out += unicode::to_valid_utf8(bytes);
      bytes.clear();
    };
    for (size_t k = 0; k < t.tokens.size(); ++k) {
      const std::string& tok = t.tokens[k];
      if (t.added[k]) {
        flush();
        out += tok;
        continue;
      }
      size_t mark = bytes.size();
      if (!byte_level::decode(tok, bytes)) {
        bytes.resize(mark);
        bytes += tok;  // not a byte-level token: its own UTF-8 (as HF's ByteLevel decoder)
      }
    }
    flush();
    fuse(t, std::move(out));
  }
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(const Json& j, const std::string& where)
      : pattern_(require<Json>(j, "pattern", where), where),
        content_(get<std::string>(j, "content", "", where)) {}
  void decode_chain(DecodeTokens& t) const override {
    for (auto& tok : t.tokens) tok = replace_all(pattern_, tok, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

int byte_token_value(const std::string& tok) {
  if (tok.size() != 6 || tok.compare(0, 3, "<0x") != 0 || tok[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  int hi = hex(tok[3]), lo = hex(tok[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

class ByteFallbackDecoder : public Decoder {
 public:
  void decode_chain(DecodeTokens& t) const override {
    DecodeTokens out;
    std::string bytes;
    auto flush = [&] {
      if (bytes.empty()) return;
      if (unicode::is_valid_utf8(bytes)) {
        out.tokens.push_back(bytes);
        out.added.push_back(0);
      } else {
        for (size_t k = 0; k < bytes.size(); ++k) {
          out.tokens.emplace_back("\xEF\xBF\xBD");
          out.added.push_back(0);
        }
      }
      bytes.clear();
    };
    for (size_t k = 0; k < t.tokens.size(); ++k) {
      int b = byte_token_value(t.tokens[k]);
      if (b >= 0) {
        bytes.push_back(static_cast<char>(b));
        continue;
      }
      flush();
      out.tokens.push_back(std::move(t.tokens[k]));
      out.added.push_back(t.added[k]);
    }
    flush();
    t = std::move(out);
  }
};

class FuseDecoder : public Decoder {
 public:
  void decode_chain(DecodeTokens& t) const override {
    std::string joined;
    for (const auto& tok : t.tokens) joined += tok;
    fuse(t, std::move(joined));
  }
};

class StripDecoder : public Decoder {
 public:
  StripDecoder(const Json& j, const std::string& where)
      : content_(get<std::string>(j, "content", " ", where)),
        start_(get<size_t>(j, "start", 0, where)),
        stop_(get<size_t>(j, "stop", 0, where)) {}
  void decode_chain(DecodeTokens& t) const override {
    for (auto& tok : t.tokens) {
      size_t begin = 0, end = tok.size();
      for (size_t n = 0;
           n < start_ && tok.compare(begin, content_.size(), content_) == 0 && begin < end; ++n) {
        begin += content_.size();
      }
      for (size_t n = 0; n < stop_ && end >= begin + content_.size() &&
                         tok.compare(end - content_.size(), content_.size(), content_) == 0;
           ++n) {
        end -= content_.size();
      }
      tok = tok.substr(begin, end - begin);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(const Json& j, const std::string& where)
      : replacement_(get<std::string>(j, "replacement", "\xE2\x96\x81", where)) {
    std::string scheme = get<std::string>(j, "prepend_scheme", "", where);
    if (scheme.empty()) scheme = get<bool>(j, "add_prefix_space", true, where) ? "always" : "never";
    strip_first_ = scheme != "never";
  }
  void decode_chain(DecodeTokens& t) const override {
    for (size_t k = 0; k < t.tokens.size(); ++k) {
      std::string s;
      const std::string& tok = t.tokens[k];
      for (size_t pos = 0; pos < tok.size();) {
        if (!replacement_.empty() && tok.compare(pos, replacement_.size(), replacement_) == 0) {
          s.push_back(' ');
          pos += replacement_.size();
        } else {
          s.push_back(tok[pos++]);
        }
      }
      if (k == 0 && strip_first_ && !s.empty() && s[0] == ' ') s.erase(0, 1);
      t.tokens[k] = std::move(s);
    }
  }

 private:
  std::string replacement_;
  bool strip_first_ = true;
};

class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(const Json& j, const std::string& where)
      : prefix_(get<std::string>(j, "prefix", "##", where)),
        cleanup_(get<bool>(j, "cleanup", true, where)) {}
  void decode_chain(DecodeTokens& t) const override {
    for (size_t k = 0; k < t.tokens.size(); ++k) {
      std::string& tok = t.tokens[k];
      if (k != 0) {
        if (tok.compare(0, prefix_.size(), prefix_) == 0) {
          tok.erase(0, prefix_.size());
        } else {
          tok = std::string(" ") + tok;
        }
      }
      if (cleanup_) tok = clean_up_wordpiece(tok);
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class BpeDecoder : public Decoder {
 public:
  BpeDecoder(const Json& j, const std::string& where)
      : suffix_(get<std::string>(j, "suffix", "</w>", where)) {}
  void decode_chain(DecodeTokens& t) const override {
    Pattern p(Json{{"String", suffix_}}, "decoder");
    for (size_t k = 0; k < t.tokens.size(); ++k) {
      t.tokens[k] = replace_all(p, t.tokens[k], k + 1 == t.tokens.size() ? "" : " ");
    }
  }

 private:
  std::string suffix_;
};

class CtcDecoder : public Decoder {
 public:
  CtcDecoder(const Json& j, const std::string& where)
      : pad_(get<std::string>(j, "pad_token", "<pad>", where)),
        delimiter_(get<std::string>(j, "word_delimiter_token", "|", where)),
        cleanup_(get<bool>(j, "cleanup", true, where)) {}
  void decode_chain(DecodeTokens& t) const override {
    DecodeTokens out;
    for (size_t k = 0; k < t.tokens.size(); ++k) {
      if (k > 0 && t.tokens[k] == t.tokens[k - 1]) continue;
      std::string tok = t.tokens[k] == pad_ ? "" : t.tokens[k];
      if (!delimiter_.empty())
        tok = replace_all(Pattern(Json{{"String", delimiter_}}, "decoder"), tok, " ");
      if (cleanup_) tok = clean_up_wordpiece(tok);
      if (tok.empty()) continue;
      out.tokens.push_back(std::move(tok));
      out.added.push_back(t.added[k]);
    }
    t = std::move(out);
  }

 private:
  std::string pad_, delimiter_;
  bool cleanup_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder_at(const Json& j, const std::string& where) {
  std::string type = json_type(j, where);
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Decoder>> parts;
    const Json list = j.contains("decoders") ? j.at("decoders") : Json::array();
    if (!list.is_array()) fail(where, "'decoders' must be an array");
    for (size_t k = 0; k < list.size(); ++k) {
      parts.push_back(make_decoder_at(list[k], where + ".decoders[" + std::to_string(k) + "]"));
    }
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Replace") return std::make_unique<ReplaceDecoder>(j, where);
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") return std::make_unique<StripDecoder>(j, where);
  if (type == "Metaspace") return std::make_unique<MetaspaceDecoder>(j, where);
  if (type == "WordPiece") return std::make_unique<WordPieceDecoder>(j, where);
  if (type == "BPEDecoder") return std::make_unique<BpeDecoder>(j, where);
  if (type == "CTC") return std::make_unique<CtcDecoder>(j, where);
  fail(where, "unknown decoder type '" + type + "'");
}

std::unique_ptr<Decoder> make_decoder(const Json& j) { return make_decoder_at(j, "decoder"); }

}  // namespace mlxlm::tok
