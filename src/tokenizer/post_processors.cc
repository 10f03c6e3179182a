// Post-processors of tokenizer.json (single sequences: the Tokenizer encodes one text at a time).
#include <memory>
#include <vector>

#include "tokenizer/components.h"

namespace mlxlm::tok {
namespace {

class TemplateProcessor : public PostProcessor {
 public:
  TemplateProcessor(const Json& j, const std::string& where) {
    Json single = require<Json>(j, "single", where);
    Json specials = get<Json>(j, "special_tokens", Json::object(), where);
    if (single.is_string()) single = parse_template_string(single.get<std::string>());
    if (!single.is_array()) fail(where, "'single' must be an array");
    for (size_t k = 0; k < single.size(); ++k) {
      const Json& item = single[k];
      std::string at = where + ".single[" + std::to_string(k) + "]";
      if (item.contains("Sequence")) {
        items_.push_back({true, {}});
      } else if (item.contains("SpecialToken")) {
        std::string id = require<std::string>(item.at("SpecialToken"), "id", at);
        auto it = specials.find(id);
        if (it == specials.end()) fail(at, "special token '" + id + "' is not in special_tokens");
        items_.push_back({false, get<std::vector<int32_t>>(*it, "ids", {}, at)});
      } else {
        fail(at, "template item must be a Sequence or a SpecialToken");
      }
    }
  }
  void process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    std::vector<int32_t> out;
    out.reserve(ids.size() + 4);
    for (const auto& item : items_) {
      if (item.sequence) {
        out.insert(out.end(), ids.begin(), ids.end());
      } else {
        out.insert(out.end(), item.ids.begin(), item.ids.end());
      }
    }
    ids.swap(out);
  }

 private:
  // "<s> $A:0" -> the list form (the string form is what users write in Python).
  static Json parse_template_string(const std::string& s) {
    Json out = Json::array();
    size_t pos = 0;
    while (pos < s.size()) {
      size_t end = s.find(' ', pos);
      if (end == std::string::npos) end = s.size();
      std::string piece = s.substr(pos, end - pos);
      pos = end + 1;
      if (piece.empty()) continue;
      std::string name = piece.substr(0, piece.find(':'));
      if (name == "$A" || name == "$" || name == "$0") {
        out.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
      } else if (name[0] == '$') {
        continue;  // the pair sequence does not occur in single-sequence encoding
      } else {
        out.push_back({{"SpecialToken", {{"id", name}, {"type_id", 0}}}});
      }
    }
    return out;
  }
  struct Item {
    bool sequence;
    std::vector<int32_t> ids;
  };
  std::vector<Item> items_;
};

class WrapProcessor : public PostProcessor {
 public:
  WrapProcessor(const Json& j, const std::string& where) {
    cls_ = id_of(require<Json>(j, "cls", where), where + ".cls");
    sep_ = id_of(require<Json>(j, "sep", where), where + ".sep");
  }
  void process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    ids.insert(ids.begin(), cls_);
    ids.push_back(sep_);
  }

 private:
  static int32_t id_of(const Json& pair, const std::string& where) {
    if (!pair.is_array() || pair.size() != 2 || !pair[1].is_number_integer()) {
      fail(where, "expected [token, id]");
    }
    return pair[1].get<int32_t>();
  }
  int32_t cls_ = 0, sep_ = 0;
};

class NoOpProcessor : public PostProcessor {
 public:
  void process(std::vector<int32_t>&, bool) const override {}
};

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts)
      : parts_(std::move(parts)) {}
  void process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    for (const auto& p : parts_) p->process(ids, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

std::unique_ptr<PostProcessor> make_at(const Json& j, const std::string& where) {
  std::string type = json_type(j, where);
  if (type == "TemplateProcessing") return std::make_unique<TemplateProcessor>(j, where);
  if (type == "ByteLevel") return std::make_unique<NoOpProcessor>();  // only adjusts offsets
  if (type == "BertProcessing" || type == "RobertaProcessing")
    return std::make_unique<WrapProcessor>(j, where);
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PostProcessor>> parts;
    const Json list = j.contains("processors") ? j.at("processors") : Json::array();
    if (!list.is_array()) fail(where, "'processors' must be an array");
    for (size_t k = 0; k < list.size(); ++k) {
      parts.push_back(make_at(list[k], where + ".processors[" + std::to_string(k) + "]"));
    }
    return std::make_unique<SequenceProcessor>(std::move(parts));
  }
  fail(where, "unknown post_processor type '" + type + "'");
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const Json& j, const Model&) {
  return make_at(j, "post_processor");
}

}  // namespace mlxlm::tok
