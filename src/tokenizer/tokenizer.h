#pragma once
// A Hugging Face tokenizer loaded from tokenizer.json + tokenizer_config.json, and the streaming
// detokenizers of mlx-lm (spec section 6). Thread-safe for concurrent const use.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/json.h"

namespace mlxlm {

// Turns a stream of token ids into text pieces whose concatenation equals decode(all ids).
// Never emits a partial UTF-8 sequence that a later token could complete.
class StreamingDetokenizer {
 public:
  virtual ~StreamingDetokenizer() = default;
  virtual void reset() = 0;
  virtual void add_token(int32_t id) = 0;
  // Flushes whatever is held back; call once after the last token.
  virtual void finalize() = 0;
  // Text produced since the previous call of last_segment().
  virtual std::string last_segment() = 0;
  // All text so far (committed segments) and all tokens added since reset().
  virtual const std::string& text() const = 0;
  virtual const std::vector<int32_t>& tokens() const = 0;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Loads `dir`/tokenizer.json and, when present, tokenizer_config.json, special_tokens_map.json
  // and chat_template.jinja. Throws InvalidInput naming the component on malformed input.
  static std::shared_ptr<const Tokenizer> load(const std::string& dir);

  virtual std::vector<int32_t> encode(std::string_view text,
                                      bool add_special_tokens = true) const = 0;
  virtual std::string decode(std::span<const int32_t> ids,
                             bool skip_special_tokens = false) const = 0;
  virtual std::unique_ptr<StreamingDetokenizer> make_detokenizer() const = 0;

  virtual int32_t vocab_size() const = 0;  // largest id + 1, added tokens included
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual std::optional<std::string> id_to_token(int32_t id) const = 0;
  virtual bool is_special(int32_t id) const = 0;

  // From tokenizer_config.json (strings may be empty when the config does not set them).
  virtual const std::string& bos_token() const = 0;
  virtual const std::string& eos_token() const = 0;
  virtual std::optional<int32_t> bos_token_id() const = 0;
  virtual std::optional<int32_t> eos_token_id() const = 0;
  // The chat template (tokenizer_config.json "chat_template", or chat_template.jinja); empty if
  // none.
  virtual const std::string& chat_template() const = 0;
  // tokenizer_config.json as loaded (an empty object when absent).
  virtual const Json& config() const = 0;
};

}  // namespace mlxlm
