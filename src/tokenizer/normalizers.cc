// Normalizers of tokenizer.json: one small class per "type".
#include <memory>
#include <vector>

#include "base/error.h"
#include "base/utf8.h"
#include "tokenizer/components.h"
#include "tokenizer/precompiled_charsmap.h"
#include "tokenizer/split_regex.h"
#include "tokenizer/unicode.h"

namespace mlxlm::tok {
namespace {

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  std::string normalize(std::string_view text) const override {
    std::string s(text);
    for (const auto& p : parts_) s = p->normalize(s);
    return s;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

class FunctionNormalizer : public Normalizer {
 public:
  using Fn = std::string (*)(std::string_view);
  explicit FunctionNormalizer(Fn fn) : fn_(fn) {}
  std::string normalize(std::string_view text) const override { return fn_(text); }

 private:
  Fn fn_;
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  std::string normalize(std::string_view text) const override {
    size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end) {
        size_t i = begin;
        if (!unicode::is_white_space(unicode::decode(text, i))) break;
        begin = i;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        size_t i = start;
        if (!unicode::is_white_space(unicode::decode(text, i))) break;
        end = start;
      }
    }
    return std::string(text.substr(begin, end - begin));
  }

 private:
  bool left_, right_;
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(const Json& j, const std::string& where)
      : pattern_(require<Json>(j, "pattern", where), where),
        content_(get<std::string>(j, "content", "", where)) {}
  std::string normalize(std::string_view text) const override {
    return replace_all(pattern_, text, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prepend) : prepend_(std::move(prepend)) {}
  std::string normalize(std::string_view text) const override {
    if (text.empty()) return std::string();
    return prepend_ + std::string(text);
  }

 private:
  std::string prepend_;
};

bool is_chinese_char(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(const Json& j, const std::string& where)
      : clean_text_(get<bool>(j, "clean_text", true, where)),
        chinese_(get<bool>(j, "handle_chinese_chars", true, where)),
        lowercase_(get<bool>(j, "lowercase", true, where)),
        strip_accents_(get<bool>(j, "strip_accents", lowercase_, where)) {}

  std::string normalize(std::string_view text) const override {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
      uint32_t cp = unicode::decode(text, i);
      if (clean_text_) {
        bool ws = cp == '\t' || cp == '\n' || cp == '\r' || unicode::is_white_space(cp);
        if (cp == 0 || cp == 0xFFFD || (!ws && unicode::is_other(unicode::category(cp)))) continue;
        if (ws) cp = ' ';
      }
      if (chinese_ && is_chinese_char(cp)) {
        out.push_back(' ');
        utf8::append(out, cp);
        out.push_back(' ');
      } else {
        utf8::append(out, cp);
      }
    }
    if (strip_accents_) out = unicode::strip_marks(unicode::nfd(out));
    if (lowercase_) out = unicode::lowercase(out);
    return out;
  }

 private:
  bool clean_text_, chinese_, lowercase_, strip_accents_;
};

class PrecompiledNormalizer : public Normalizer {
 public:
  PrecompiledNormalizer(const Json& j, const std::string& where)
      : map_(get<std::string>(j, "precompiled_charsmap", "", where), where) {}
  std::string normalize(std::string_view text) const override { return map_.normalize(text); }

 private:
  PrecompiledCharsmap map_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer_at(const Json& j, const std::string& where) {
  std::string type = json_type(j, where);
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> parts;
    const Json& list = j.contains("normalizers") ? j.at("normalizers") : Json::array();
    if (!list.is_array()) fail(where, "'normalizers' must be an array");
    for (size_t k = 0; k < list.size(); ++k) {
      parts.push_back(
          make_normalizer_at(list[k], where + ".normalizers[" + std::to_string(k) + "]"));
    }
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  if (type == "NFC") return std::make_unique<FunctionNormalizer>(&unicode::nfc);
  if (type == "NFD") return std::make_unique<FunctionNormalizer>(&unicode::nfd);
  if (type == "NFKC") return std::make_unique<FunctionNormalizer>(&unicode::nfkc);
  if (type == "NFKD") return std::make_unique<FunctionNormalizer>(&unicode::nfkd);
  if (type == "Lowercase") return std::make_unique<FunctionNormalizer>(&unicode::lowercase);
  if (type == "StripAccents") return std::make_unique<FunctionNormalizer>(&unicode::strip_marks);
  if (type == "Strip") {
    return std::make_unique<StripNormalizer>(get<bool>(j, "strip_left", true, where),
                                             get<bool>(j, "strip_right", true, where));
  }
  if (type == "Replace") return std::make_unique<ReplaceNormalizer>(j, where);
  if (type == "Prepend") {
    return std::make_unique<PrependNormalizer>(require<std::string>(j, "prepend", where));
  }
  if (type == "BertNormalizer") return std::make_unique<BertNormalizer>(j, where);
  if (type == "Precompiled") return std::make_unique<PrecompiledNormalizer>(j, where);
  fail(where, "unknown normalizer type '" + type + "'");
}

std::unique_ptr<Normalizer> make_normalizer(const Json& j) {
  return make_normalizer_at(j, "normalizer");
}

}  // namespace mlxlm::tok
