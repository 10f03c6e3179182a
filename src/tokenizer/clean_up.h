#pragma once
// transformers' clean_up_tokenization (applied after decoding when tokenizer_config.json sets
// clean_up_tokenization_spaces) and the WordPiece / CTC decoders' variant.
#include <string>
#include <string_view>

namespace mlxlm::tok {

std::string clean_up_tokenization(std::string_view text);
std::string clean_up_wordpiece(std::string_view text);

// True when no replacement of clean_up_tokenization can involve byte `c`: cutting the text right
// after such a byte cleans both parts independently with the same result.
bool clean_up_cut_after(char c);

}  // namespace mlxlm::tok
