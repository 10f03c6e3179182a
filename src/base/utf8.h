#pragma once
// Small UTF-8 helpers shared by the tokenizer, detokenizers and chat templates.
#include <cstdint>
#include <string>
#include <string_view>

namespace mlxlm::utf8 {

// Appends the UTF-8 encoding of code point `cp` to `out`.
void append(std::string& out, uint32_t cp);

// Length in bytes of the UTF-8 sequence starting with byte `lead` (1 for invalid leads).
int sequence_length(unsigned char lead);

// Decodes the code point at s[i], advancing i. Invalid bytes decode as U+FFFD, one byte each.
uint32_t next(std::string_view s, size_t& i);

// True when `s` ends in the middle of a multi-byte sequence that more bytes could complete.
bool ends_incomplete(std::string_view s);

}  // namespace mlxlm::utf8
