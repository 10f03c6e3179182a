#include "tokenizer/clean_up.h"

#include <cstring>
#include <utility>

namespace mlxlm::tok {
namespace {

// Sequential global replacements, each left to right without overlap (str.replace).
std::string replace_each(std::string_view text,
                         std::initializer_list<std::pair<const char*, const char*>> rules) {
  std::string s(text);
  for (const auto& [from, to] : rules) {
    size_t flen = std::strlen(from);
    if (s.find(from) == std::string::npos) continue;
    std::string out;
    out.reserve(s.size());
    size_t prev = 0, pos;
    while ((pos = s.find(from, prev)) != std::string::npos) {
      out.append(s, prev, pos - prev);
      out.append(to);
      prev = pos + flen;
    }
    out.append(s, prev, std::string::npos);
    s.swap(out);
  }
  return s;
}

}  // namespace

std::string clean_up_tokenization(std::string_view text) {
  if (text.find(' ') == std::string_view::npos) return std::string(text);
  return replace_each(text, {{" .", "."},
                             {" ?", "?"},
                             {" !", "!"},
                             {" ,", ","},
                             {" ' ", "'"},
                             {" n't", "n't"},
                             {" 'm", "'m"},
                             {" 's", "'s"},
                             {" 've", "'ve"},
                             {" 're", "'re"}});
}

std::string clean_up_wordpiece(std::string_view text) {
  if (text.find(' ') == std::string_view::npos) return std::string(text);
  return replace_each(text, {{" .", "."},
                             {" ?", "?"},
                             {" !", "!"},
                             {" ,", ","},
                             {" ' ", "'"},
                             {" n't", "n't"},
                             {" 'm", "'m"},
                             {" do not", " don't"},
                             {" 's", "'s"},
                             {" 've", "'ve"},
                             {" 're", "'re"}});
}

bool clean_up_cut_after(char c) { return std::strchr(" .?!,'ntmsvre", c) == nullptr || c == '\0'; }

}  // namespace mlxlm::tok
