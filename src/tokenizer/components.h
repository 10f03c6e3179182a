#pragma once
// The pipeline stages of a tokenizer.json, each an interface with one implementation per "type".
// Encoding: added-token split -> Normalizer -> PreTokenizer -> Model -> PostProcessor.
// Decoding: ids -> token strings -> Decoder chain -> (clean-up of tokenization spaces).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/json.h"

namespace mlxlm::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual std::string normalize(std::string_view text) const = 0;
};

// Pieces of one section of text. `first_section` is true for the section that starts the input
// (Metaspace's prepend_scheme "first" depends on it).
using Pieces = std::vector<std::string>;

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(Pieces& pieces, bool first_section) const = 0;
  // True for a ByteLevel pre-tokenizer that only maps bytes to characters (use_regex false, no
  // prefix space); the tokenizer then hands raw bytes to a byte-level model instead.
  virtual bool is_plain_byte_level() const { return false; }
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of one pre-token. With `raw_bytes`, `piece` holds raw bytes that a folded
  // ByteLevel pre-tokenizer would have mapped to characters.
  virtual void tokenize(std::string_view piece, bool raw_bytes,
                        std::vector<int32_t>& ids) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // nullopt when `id` is not in the model's vocabulary.
  virtual std::optional<std::string_view> id_to_token(int32_t id) const = 0;
  virtual int32_t vocab_size() const = 0;  // largest id + 1
  virtual std::optional<int32_t> unk_id() const { return std::nullopt; }
  virtual bool supports_raw_bytes() const { return false; }
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void process(std::vector<int32_t>& ids, bool add_special_tokens) const = 0;
};

// Tokens handed to the decoder chain; `added[i]` marks tokens from the added vocabulary (the
// ByteLevel decoder keeps those verbatim, as the reference does).
struct DecodeTokens {
  std::vector<std::string> tokens;
  std::vector<uint8_t> added;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(DecodeTokens& t) const = 0;
};

std::unique_ptr<Normalizer> make_normalizer(const Json& j);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j);
std::unique_ptr<PostProcessor> make_post_processor(const Json& j, const Model& model);
std::unique_ptr<Decoder> make_decoder(const Json& j);

// Throws InvalidInput("tokenizer", ...) naming the component path.
[[noreturn]] void fail(const std::string& where, const std::string& what);
// The "type" of a component object.
std::string json_type(const Json& j, const std::string& where);

// j[key] as T, or `fallback` when absent or null; a wrong type fails naming `where` and the key.
template <typename T>
T get(const Json& j, const std::string& key, const T& fallback, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(where, "key '" + key + "' has the wrong type (" + std::string(it->type_name()) + ")");
  }
}

template <typename T>
T require(const Json& j, const std::string& key, const std::string& where) {
  if (!j.is_object()) fail(where, "expected an object");
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) fail(where, "missing required key '" + key + "'");
  return get<T>(j, key, T{}, where);
}

}  // namespace mlxlm::tok
