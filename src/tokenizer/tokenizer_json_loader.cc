// Tokenizer::load: tokenizer.json through simdjson (a 200k-token vocab must load in well under
// 150 ms), the small component objects converted to Json, plus tokenizer_config.json,
// special_tokens_map.json and chat_template.jinja.
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "tokenizer/hf_tokenizer.h"
#include "tokenizer/model_spec.h"

namespace mlxlm {
namespace tok {

std::unique_ptr<Normalizer> make_normalizer_at(const Json& j, const std::string& where);
std::unique_ptr<PreTokenizer> make_pre_tokenizer_at(const Json& j, const std::string& where);

namespace {

namespace dom = simdjson::dom;

Json to_json(dom::element e) {
  switch (e.type()) {
    case dom::element_type::ARRAY: {
      Json a = Json::array();
      dom::array arr;
      if (e.get_array().get(arr) != simdjson::SUCCESS) return nullptr;
      for (dom::element x : arr) a.push_back(to_json(x));
      return a;
    }
    case dom::element_type::OBJECT: {
      Json o = Json::object();
      dom::object obj;
      if (e.get_object().get(obj) != simdjson::SUCCESS) return nullptr;
      for (dom::key_value_pair kv : obj) o[std::string(kv.key)] = to_json(kv.value);
      return o;
    }
    case dom::element_type::INT64: {
      int64_t v = 0;
      if (e.get_int64().get(v) != simdjson::SUCCESS) return nullptr;
      return v;
    }
    case dom::element_type::UINT64: {
      uint64_t v = 0;
      if (e.get_uint64().get(v) != simdjson::SUCCESS) return nullptr;
      return v;
    }
    case dom::element_type::DOUBLE: {
      double v = 0;
      if (e.get_double().get(v) != simdjson::SUCCESS) return nullptr;
      return v;
    }
    case dom::element_type::STRING: {
      std::string_view v;
      if (e.get_string().get(v) != simdjson::SUCCESS) return nullptr;
      return std::string(v);
    }
    case dom::element_type::BOOL: {
      bool v = false;
      if (e.get_bool().get(v) != simdjson::SUCCESS) return nullptr;
      return v;
    }
    case dom::element_type::NULL_VALUE:
      return nullptr;
  }
  return nullptr;
}

// A top-level component, or null when absent.
Json component(dom::object root, const char* key) {
  dom::element e;
  if (root[key].get(e) != simdjson::SUCCESS) return nullptr;
  return to_json(e);
}

ModelSpec read_model(dom::object root) {
  dom::element model_el;
  if (root["model"].get(model_el) != simdjson::SUCCESS || model_el.is_null())
    fail("model", "missing");
  dom::object model;
  if (model_el.get_object().get(model) != simdjson::SUCCESS) fail("model", "must be an object");
  ModelSpec spec;
  dom::element vocab_el, merges_el;
  bool has_vocab = model["vocab"].get(vocab_el) == simdjson::SUCCESS;
  bool has_merges = model["merges"].get(merges_el) == simdjson::SUCCESS;
  spec.options = Json::object();
  for (dom::key_value_pair kv : model) {
    if (kv.key != "vocab" && kv.key != "merges")
      spec.options[std::string(kv.key)] = to_json(kv.value);
  }
  if (auto it = spec.options.find("type"); it != spec.options.end() && it->is_string()) {
    spec.type = it->get<std::string>();
  } else if (has_merges) {
    spec.type = "BPE";
  } else if (has_vocab && vocab_el.is_array()) {
    spec.type = "Unigram";
  } else {
    spec.type = "WordPiece";
  }
  const std::string where = "model (" + spec.type + ")";
  if (spec.type != "BPE" && spec.type != "Unigram" && spec.type != "WordPiece" &&
      spec.type != "WordLevel") {
    fail("model", "unknown model type '" + spec.type + "'");
  }
  if (!has_vocab) fail(where, "missing 'vocab'");
  if (spec.type == "Unigram") {
    dom::array arr;
    if (vocab_el.get_array().get(arr) != simdjson::SUCCESS) fail(where, "'vocab' must be an array");
    for (dom::element item : arr) {
      dom::array pair;
      std::string_view piece;
      double score = 0;
      if (item.get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2 ||
          pair.at(0).get_string().get(piece) != simdjson::SUCCESS ||
          pair.at(1).get_double().get(score) != simdjson::SUCCESS) {
        fail(where + ".vocab", "entries must be [piece, score]");
      }
      spec.scored_vocab.emplace_back(piece, score);
    }
    return spec;
  }
  dom::object vocab;
  if (vocab_el.get_object().get(vocab) != simdjson::SUCCESS)
    fail(where, "'vocab' must be an object");
  spec.vocab.reserve(vocab.size());
  for (dom::key_value_pair kv : vocab) {
    int64_t id = 0;
    if (kv.value.get_int64().get(id) != simdjson::SUCCESS) {
      fail(where + ".vocab", "token '" + std::string(kv.key) + "' has a non-integer id");
    }
    spec.vocab.emplace_back(kv.key, id);
  }
  if (spec.type != "BPE") return spec;
  if (!has_merges) return spec;
  dom::array merges;
  if (merges_el.get_array().get(merges) != simdjson::SUCCESS)
    fail(where, "'merges' must be an array");
  spec.merges.reserve(merges.size());
  size_t k = 0;
  for (dom::element m : merges) {
    std::string_view s;
    dom::array pair;
    if (m.get_string().get(s) == simdjson::SUCCESS) {
      size_t space = s.find(' ', 1);
      if (space == std::string_view::npos) {
        fail(where + ".merges[" + std::to_string(k) + "]",
             "merge '" + std::string(s) + "' is not 'a b'");
      }
      spec.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.get_array().get(pair) == simdjson::SUCCESS && pair.size() == 2) {
      std::string_view a, b;
      if (pair.at(0).get_string().get(a) != simdjson::SUCCESS ||
          pair.at(1).get_string().get(b) != simdjson::SUCCESS) {
        fail(where + ".merges[" + std::to_string(k) + "]", "merge pair must hold two strings");
      }
      spec.merges.emplace_back(a, b);
    } else {
      fail(where + ".merges[" + std::to_string(k) + "]", "merge must be 'a b' or [a, b]");
    }
    ++k;
  }
  return spec;
}

std::vector<AddedToken> read_added_tokens(const Json& list) {
  std::vector<AddedToken> out;
  if (list.is_null()) return out;
  if (!list.is_array()) fail("added_tokens", "must be an array");
  for (size_t k = 0; k < list.size(); ++k) {
    std::string where = "added_tokens[" + std::to_string(k) + "]";
    const Json& t = list[k];
    AddedToken a;
    int64_t id = require<int64_t>(t, "id", where);
    if (id < 0 || id >= (int64_t{1} << 30)) fail(where, "invalid id " + std::to_string(id));
    a.id = static_cast<int32_t>(id);
    a.content = require<std::string>(t, "content", where);
    a.special = get<bool>(t, "special", false, where);
    a.single_word = get<bool>(t, "single_word", false, where);
    a.lstrip = get<bool>(t, "lstrip", false, where);
    a.rstrip = get<bool>(t, "rstrip", false, where);
    a.normalized = get<bool>(t, "normalized", !a.special, where);
    out.push_back(std::move(a));
  }
  return out;
}

bool is_plain_byte_level(const Json& j) {
  return j.is_object() && j.value("type", "") == "ByteLevel" && j.contains("add_prefix_space") &&
         j["add_prefix_space"] == false && j.contains("use_regex") && j["use_regex"] == false;
}

// mlx-lm's choice of streaming detokenizer from the decoder object (tokenizer_utils.py).
void pick_detokenizer(const Json& d, Pipeline& p) {
  if (!d.is_object()) return;
  if (d.value("type", "") == "ByteLevel") {
    p.detokenizer = DetokenizerKind::kByteLevel;
    return;
  }
  if (d.value("type", "") != "Sequence" || !d.contains("decoders") || !d["decoders"].is_array())
    return;
  const Json& ds = d["decoders"];
  auto is = [&](size_t k, const char* type) {
    return k < ds.size() && ds[k].is_object() && ds[k].value("type", "") == type;
  };
  bool head = ds.size() >= 3 && is(0, "Replace") && ds[0].contains("pattern") &&
              ds[0]["pattern"] == Json{{"String", "\xE2\x96\x81"}} &&
              ds[0].value("content", "") == " " && is(1, "ByteFallback") && is(2, "Fuse");
  if (!head) return;
  if (ds.size() == 3) {
    p.detokenizer = DetokenizerKind::kSentencePiece;
    p.spm_trim_space = false;
  } else if (ds.size() == 4 && is(3, "Strip") && ds[3].value("content", "") == " " &&
             ds[3].value("start", 0) == 1 && ds[3].value("stop", 0) == 0) {
    p.detokenizer = DetokenizerKind::kSentencePiece;
    p.spm_trim_space = true;
  }
}

std::string token_string(const Json& v, const std::string& key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  if (v.is_null()) return "";
  fail("tokenizer_config.json", "'" + key + "' must be a string or {\"content\": ...}");
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError("tokenizer", "cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

SpecialTokens read_specials(const std::string& dir) {
  namespace fs = std::filesystem;
  SpecialTokens s;
  Json cfg = Json::object();
  if (fs::exists(dir + "/tokenizer_config.json"))
    cfg = read_json_file(dir + "/tokenizer_config.json");
  if (!cfg.is_object()) fail("tokenizer_config.json", "must be an object");
  Json map = Json::object();
  if (fs::exists(dir + "/special_tokens_map.json"))
    map = read_json_file(dir + "/special_tokens_map.json");
  auto pick = [&](const char* key) {
    if (cfg.contains(key) && !cfg[key].is_null()) return token_string(cfg[key], key);
    if (map.is_object() && map.contains(key)) return token_string(map[key], key);
    return std::string();
  };
  s.bos = pick("bos_token");
  s.eos = pick("eos_token");
  s.unk = pick("unk_token");
  s.pad = pick("pad_token");
  for (const Json* src : {&cfg, &map}) {
    if (!src->is_object() || !src->contains("additional_special_tokens")) continue;
    const Json& list = (*src)["additional_special_tokens"];
    if (!list.is_array()) continue;
    for (const auto& t : list) s.additional.push_back(token_string(t, "additional_special_tokens"));
  }
  auto flag = [&](const char* key, bool fallback) {
    auto it = cfg.find(key);
    return it != cfg.end() && it->is_boolean() ? it->get<bool>() : fallback;
  };
  // transformers.js (which made the goldens) cleans up unless the config says false.
  s.clean_up_tokenization_spaces = flag("clean_up_tokenization_spaces", true);
  s.add_bos_token = flag("add_bos_token", false);
  s.add_eos_token = flag("add_eos_token", false);
  if (fs::exists(dir + "/chat_template.jinja")) {
    s.chat_template = read_text(dir + "/chat_template.jinja");
  } else if (auto it = cfg.find("chat_template"); it != cfg.end()) {
    if (it->is_string()) {
      s.chat_template = it->get<std::string>();
    } else if (it->is_array()) {
      // Named templates: the "default" one, else the first.
      for (const auto& t : *it) {
        if (t.is_object() && t.value("name", "") == "default")
          s.chat_template = t.value("template", "");
      }
      if (s.chat_template.empty() && !it->empty() && (*it)[0].is_object()) {
        s.chat_template = (*it)[0].value("template", "");
      }
    }
  }
  s.config = std::move(cfg);
  return s;
}

std::shared_ptr<const Tokenizer> load_impl(const std::string& dir) {
  const std::string path = dir + "/tokenizer.json";
  if (!std::filesystem::exists(path)) throw FileError("tokenizer", "missing " + path);
  simdjson::padded_string text;
  if (simdjson::padded_string::load(path).get(text) != simdjson::SUCCESS) {
    throw FileError("tokenizer", "cannot read " + path);
  }
  dom::parser parser;
  dom::element doc;
  if (auto err = parser.parse(text).get(doc); err != simdjson::SUCCESS) {
    fail("tokenizer.json", std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  dom::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS)
    fail("tokenizer.json", "top level must be an object");

  Pipeline p;
  ModelSpec spec = read_model(root);
  if (spec.type == "BPE") {
    p.model = make_bpe_model(spec);
  } else if (spec.type == "Unigram") {
    p.model = make_unigram_model(spec);
  } else {
    p.model = make_wordpiece_model(spec);  // WordLevel is WordPiece without subwords
  }
  Json normalizer = component(root, "normalizer");
  if (!normalizer.is_null()) p.normalizer = make_normalizer(normalizer);
  Json pre = component(root, "pre_tokenizer");
  if (!pre.is_null()) {
    // A trailing plain ByteLevel step is folded into the model, which then reads raw bytes.
    if (p.model->supports_raw_bytes() && is_plain_byte_level(pre)) {
      make_pre_tokenizer(pre);  // still validated
      p.raw_bytes = true;
    } else if (p.model->supports_raw_bytes() && pre.value("type", "") == "Sequence" &&
               pre.contains("pretokenizers") && pre["pretokenizers"].is_array() &&
               !pre["pretokenizers"].empty() && is_plain_byte_level(pre["pretokenizers"].back())) {
      make_pre_tokenizer(pre);
      pre["pretokenizers"].erase(pre["pretokenizers"].size() - 1);
      p.pre_tokenizer = make_pre_tokenizer(pre);
      p.raw_bytes = true;
    } else {
      p.pre_tokenizer = make_pre_tokenizer(pre);
    }
  }
  Json post = component(root, "post_processor");
  if (!post.is_null()) p.post_processor = make_post_processor(post, *p.model);
  Json decoder = component(root, "decoder");
  if (!decoder.is_null()) p.decoder = make_decoder(decoder);
  pick_detokenizer(decoder, p);
  const Normalizer* norm = p.normalizer.get();
  p.added.build(read_added_tokens(component(root, "added_tokens")),
                [norm](const std::string& s) { return norm ? norm->normalize(s) : s; });
  return std::make_shared<HfTokenizer>(std::move(p), read_specials(dir));
}

}  // namespace
}  // namespace tok

std::shared_ptr<const Tokenizer> Tokenizer::load(const std::string& dir) {
  try {
    return tok::load_impl(dir);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput("tokenizer", dir + ": malformed component: " + e.what());
  }
}

}  // namespace mlxlm
