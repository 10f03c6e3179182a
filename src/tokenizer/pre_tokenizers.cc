// Pre-tokenizers of tokenizer.json: one small class per "type".
#include <memory>
#include <vector>

#include "base/utf8.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/components.h"
#include "tokenizer/split_behavior.h"
#include "tokenizer/split_regex.h"
#include "tokenizer/unicode.h"

namespace mlxlm::tok {
namespace {

// Applies `fn(piece, out)` to every piece.
template <typename Fn>
void for_each_piece(Pieces& pieces, Fn fn) {
  Pieces out;
  out.reserve(pieces.size() * 2);
  for (const auto& p : pieces) fn(p, out);
  pieces.swap(out);
}

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  void pre_tokenize(Pieces& pieces, bool first_section) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces, first_section);
  }
  const std::vector<std::unique_ptr<PreTokenizer>>& parts() const { return parts_; }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(const Json& j, const std::string& where)
      : pattern_(require<Json>(j, "pattern", where), where + ".pattern"),
        behavior_(parse_split_behavior(require<std::string>(j, "behavior", where), where)),
        invert_(get<bool>(j, "invert", false, where)) {}
  void pre_tokenize(Pieces& pieces, bool) const override {
    std::vector<Match> matches;
    for_each_piece(pieces, [&](const std::string& p, Pieces& out) {
      matches.clear();
      pattern_.find_all(p, matches);
      split_by_matches(p, matches, behavior_, invert_, out);
    });
  }

 private:
  Pattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

// Splits on characters satisfying a predicate.
template <typename Pred>
class CharSplitPreTokenizer : public PreTokenizer {
 public:
  CharSplitPreTokenizer(Pred pred, SplitBehavior behavior) : pred_(pred), behavior_(behavior) {}
  void pre_tokenize(Pieces& pieces, bool) const override {
    std::vector<Match> matches;
    for_each_piece(pieces, [&](const std::string& p, Pieces& out) {
      matches.clear();
      char_matches(p, pred_, matches);
      split_by_matches(p, matches, behavior_, false, out);
    });
  }

 private:
  Pred pred_;
  SplitBehavior behavior_;
};

template <typename Pred>
std::unique_ptr<PreTokenizer> char_split(Pred pred, SplitBehavior behavior) {
  return std::make_unique<CharSplitPreTokenizer<Pred>>(pred, behavior);
}

bool is_rust_whitespace(uint32_t cp) { return unicode::is_white_space(cp); }
bool is_bert_punct(uint32_t cp) {
  return (cp < 0x80 && ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) ||
                        (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))) ||
         unicode::is_punct(cp);
}

const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(const Json& j, const std::string& where)
      : add_prefix_space_(get<bool>(j, "add_prefix_space", true, where)),
        use_regex_(get<bool>(j, "use_regex", true, where)) {
    if (use_regex_) regex_ = std::make_unique<Regex>(kGpt2Pattern, where);
  }
  void pre_tokenize(Pieces& pieces, bool) const override {
    std::vector<Match> matches;
    for_each_piece(pieces, [&](const std::string& p, Pieces& out) {
      std::string text = add_prefix_space_ && (p.empty() || p[0] != ' ') ? " " + p : p;
      if (!use_regex_) {
        if (!text.empty()) out.push_back(byte_level::encode(text));
        return;
      }
      matches.clear();
      regex_->find_all(text, matches);
      Pieces parts;
      split_by_matches(text, matches, SplitBehavior::kIsolated, false, parts);
      for (const auto& part : parts) out.push_back(byte_level::encode(part));
    });
  }
  bool is_plain_byte_level() const override { return !add_prefix_space_ && !use_regex_; }

 private:
  bool add_prefix_space_;
  bool use_regex_;
  std::unique_ptr<Regex> regex_;
};

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(const Json& j, const std::string& where)
      : replacement_(get<std::string>(j, "replacement", "\xE2\x96\x81", where)),
        split_(get<bool>(j, "split", true, where)) {
    std::string scheme = get<std::string>(j, "prepend_scheme", "", where);
    if (scheme.empty()) scheme = get<bool>(j, "add_prefix_space", true, where) ? "always" : "never";
    if (scheme != "always" && scheme != "first" && scheme != "never") {
      fail(where, "unknown prepend_scheme '" + scheme + "'");
    }
    scheme_ = scheme;
  }
  void pre_tokenize(Pieces& pieces, bool first_section) const override {
    bool first = true;
    std::vector<Match> matches;
    for_each_piece(pieces, [&](const std::string& p, Pieces& out) {
      std::string s;
      s.reserve(p.size() + 8);
      for (char c : p) {
        if (c == ' ') {
          s += replacement_;
        } else {
          s.push_back(c);
        }
      }
      bool prepend = scheme_ == "always" || (scheme_ == "first" && first_section && first);
      first = false;
      if (prepend && s.compare(0, replacement_.size(), replacement_) != 0) s = replacement_ + s;
      if (!split_) {
        if (!s.empty()) out.push_back(std::move(s));
        return;
      }
      matches.clear();
      for (size_t pos = 0; (pos = s.find(replacement_, pos)) != std::string::npos;
           pos += replacement_.size()) {
        matches.push_back({pos, pos + replacement_.size()});
      }
      split_by_matches(s, matches, SplitBehavior::kMergedWithNext, false, out);
    });
  }

 private:
  std::string replacement_;
  std::string scheme_;
  bool split_;
};

class FixedLengthPreTokenizer : public PreTokenizer {
 public:
  explicit FixedLengthPreTokenizer(size_t length) : length_(length == 0 ? 1 : length) {}
  void pre_tokenize(Pieces& pieces, bool) const override {
    for_each_piece(pieces, [&](const std::string& p, Pieces& out) {
      size_t i = 0;
      while (i < p.size()) {
        size_t start = i;
        for (size_t n = 0; n < length_ && i < p.size(); ++n) unicode::decode(p, i);
        out.push_back(p.substr(start, i - start));
      }
    });
  }

 private:
  size_t length_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer_at(const Json& j, const std::string& where) {
  std::string type = json_type(j, where);
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    const Json list = j.contains("pretokenizers") ? j.at("pretokenizers") : Json::array();
    if (!list.is_array()) fail(where, "'pretokenizers' must be an array");
    for (size_t k = 0; k < list.size(); ++k) {
      parts.push_back(
          make_pre_tokenizer_at(list[k], where + ".pretokenizers[" + std::to_string(k) + "]"));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  if (type == "Split") return std::make_unique<SplitPreTokenizer>(j, where);
  if (type == "ByteLevel") return std::make_unique<ByteLevelPreTokenizer>(j, where);
  if (type == "Metaspace") return std::make_unique<MetaspacePreTokenizer>(j, where);
  if (type == "Whitespace") {
    Json split = {{"type", "Split"},
                  {"pattern", {{"Regex", R"(\w+|[^\w\s]+)"}}},
                  {"behavior", "Removed"},
                  {"invert", true}};
    return std::make_unique<SplitPreTokenizer>(split, where);
  }
  if (type == "WhitespaceSplit") return char_split(&is_rust_whitespace, SplitBehavior::kRemoved);
  if (type == "Digits") {
    bool individual = get<bool>(j, "individual_digits", false, where);
    return char_split([](uint32_t cp) { return unicode::is_number(cp); },
                      individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
  }
  if (type == "Punctuation") {
    return char_split(
        &is_bert_punct,
        parse_split_behavior(get<std::string>(j, "behavior", "Isolated", where), where));
  }
  if (type == "BertPreTokenizer") {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    parts.push_back(char_split(&is_rust_whitespace, SplitBehavior::kRemoved));
    parts.push_back(char_split(&is_bert_punct, SplitBehavior::kIsolated));
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  if (type == "CharDelimiterSplit") {
    std::string d = require<std::string>(j, "delimiter", where);
    Json split = {{"type", "Split"},
                  {"pattern", {{"String", d}}},
                  {"behavior", "Removed"},
                  {"invert", false}};
    return std::make_unique<SplitPreTokenizer>(split, where);
  }
  if (type == "FixedLength")
    return std::make_unique<FixedLengthPreTokenizer>(get<size_t>(j, "length", 5, where));
  fail(where, "unknown pre_tokenizer type '" + type + "'");
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j) {
  return make_pre_tokenizer_at(j, "pre_tokenizer");
}

}  // namespace mlxlm::tok
