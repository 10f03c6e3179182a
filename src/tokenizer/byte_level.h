#pragma once
// GPT-2's reversible byte <-> printable-character mapping used by byte-level BPE.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mlxlm::tok::byte_level {

// UTF-8 of the character that stands for byte `b`.
const std::string& char_of(uint8_t b);
// The byte a code point stands for, or -1 when the code point is not in the table.
int byte_of(uint32_t cp);
// Maps every byte of `bytes` to its character.
std::string encode(std::string_view bytes);
// Maps characters back to bytes; false (leaving `out` partial) if a character is not in the table.
bool decode(std::string_view text, std::string& out);

}  // namespace mlxlm::tok::byte_level
