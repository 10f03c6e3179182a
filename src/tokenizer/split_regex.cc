#include "tokenizer/split_regex.h"

#include <oniguruma.h>

#include <mutex>

#include "base/error.h"
#include "tokenizer/components.h"

namespace mlxlm::tok {
namespace {

void init_oniguruma() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

size_t next_char_len(std::string_view text, size_t pos) {
  if (pos >= text.size()) return 1;
  auto b = static_cast<unsigned char>(text[pos]);
  if (b < 0x80) return 1;
  if ((b & 0xE0) == 0xC0) return 2;
  if ((b & 0xF0) == 0xE0) return 3;
  return 4;
}

}  // namespace

Regex::Regex(std::string_view pattern, const std::string& where) : pattern_(pattern) {
  init_oniguruma();
  OnigRegex reg = nullptr;
  OnigErrorInfo info;
  const auto* p = reinterpret_cast<const OnigUChar*>(pattern_.data());
  int rc = onig_new(&reg, p, p + pattern_.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                    ONIG_SYNTAX_DEFAULT, &info);
  if (rc != ONIG_NORMAL) {
    OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(msg, rc, &info);
    fail(where, "invalid regex '" + pattern_ + "': " + reinterpret_cast<const char*>(msg));
  }
  regex_ = reg;
}

Regex::~Regex() {
  if (regex_ != nullptr) onig_free(static_cast<OnigRegex>(regex_));
}

void Regex::find_all(std::string_view text, std::vector<Match>& out) const {
  auto* reg = static_cast<OnigRegex>(regex_);
  OnigRegion* region = onig_region_new();
  const auto* base = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = base + text.size();
  size_t pos = 0;
  bool have_last = false;
  size_t last_end = 0;
  while (pos <= text.size()) {
    onig_region_clear(region);
    int r = onig_search(reg, base, end, base + pos, end, region, ONIG_OPTION_NONE);
    if (r < 0) break;  // ONIG_MISMATCH, or an engine limit: treat as no further match
    auto s = static_cast<size_t>(region->beg[0]);
    auto e = static_cast<size_t>(region->end[0]);
    if (s == e && have_last && last_end == e) {
      pos += next_char_len(text, pos);
      continue;
    }
    out.push_back({s, e});
    have_last = true;
    last_end = e;
    pos = e;
    if (s == e && pos >= text.size()) break;
  }
  onig_region_free(region, 1);
}

Pattern::Pattern(const Json& j, const std::string& where) {
  if (j.is_string()) {
    literal_ = j.get<std::string>();
    return;
  }
  if (!j.is_object()) fail(where, "pattern must be an object with 'String' or 'Regex'");
  if (auto it = j.find("String"); it != j.end() && it->is_string()) {
    literal_ = it->get<std::string>();
  } else if (auto r = j.find("Regex"); r != j.end() && r->is_string()) {
    regex_ = std::make_unique<Regex>(r->get<std::string>(), where);
  } else {
    fail(where, "pattern must have a string 'String' or 'Regex'");
  }
}

void Pattern::find_all(std::string_view text, std::vector<Match>& out) const {
  if (regex_) {
    regex_->find_all(text, out);
    return;
  }
  if (literal_.empty()) return;
  size_t pos = 0;
  while ((pos = text.find(literal_, pos)) != std::string_view::npos) {
    out.push_back({pos, pos + literal_.size()});
    pos += literal_.size();
  }
}

std::string replace_all(const Pattern& pattern, std::string_view text, std::string_view content) {
  std::vector<Match> matches;
  pattern.find_all(text, matches);
  if (matches.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size() + matches.size() * content.size());
  size_t prev = 0;
  for (const auto& m : matches) {
    out.append(text.substr(prev, m.start - prev));
    out.append(content);
    prev = m.end;
  }
  out.append(text.substr(prev));
  return out;
}

}  // namespace mlxlm::tok
