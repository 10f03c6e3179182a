// Python str methods: strip/split/startswith/replace/find/join/format and friends, with
// Python's code point indexing and Unicode whitespace.
#include <algorithm>
#include <cctype>
#include <optional>

#include "chat/jinja_error.h"
#include "chat/jinja_methods.h"
#include "chat/jinja_objects.h"
#include "chat/jinja_operators.h"
#include "chat/jinja_pyformat.h"
#include "chat/jinja_unicode.h"

namespace mlxlm::chat::jinja {

namespace {

const std::string& want_str(const Value& v, const std::string& what) {
  if (!v.is_string()) {
    raise_type_error(what + " must be str, not " + v.type_name());
  }
  return v.as_string();
}

int64_t want_int(const Value& v, const std::string& what) {
  if (!v.is_int() && !v.is_bool()) {
    raise_type_error("'" + v.type_name() + "' object cannot be interpreted as an integer (" + what +
                     ")");
  }
  return v.as_int();
}

// Code point index of byte offset `byte` in `s`.
int64_t cp_index(const std::string& s, size_t byte) {
  return static_cast<int64_t>(uni::length(std::string_view(s).substr(0, byte)));
}

List split_whitespace(const std::string& s, int64_t maxsplit, bool from_right) {
  auto cps = uni::decode(s);
  List parts;
  if (!from_right) {
    size_t i = 0;
    while (true) {
      while (i < cps.size() && uni::is_space(cps[i])) ++i;
      if (i >= cps.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
        // The unsplit remainder keeps its trailing whitespace, as in Python.
        parts.push_back(Value(uni::encode(cps, i, cps.size())));
        break;
      }
      size_t j = i;
      while (j < cps.size() && !uni::is_space(cps[j])) ++j;
      parts.push_back(Value(uni::encode(cps, i, j)));
      i = j;
    }
    return parts;
  }
  size_t end = cps.size();
  while (true) {
    while (end > 0 && uni::is_space(cps[end - 1])) --end;
    if (end == 0) break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
      parts.push_back(Value(uni::encode(cps, 0, end)));
      break;
    }
    size_t j = end;
    while (j > 0 && !uni::is_space(cps[j - 1])) --j;
    parts.push_back(Value(uni::encode(cps, j, end)));
    end = j;
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

List split_sep(const std::string& s, const std::string& sep, int64_t maxsplit, bool from_right) {
  if (sep.empty()) raise("ValueError", "empty separator");
  List parts;
  if (!from_right) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      size_t at = s.find(sep, start);
      if (at == std::string::npos) break;
      parts.push_back(Value(s.substr(start, at - start)));
      start = at + sep.size();
    }
    parts.push_back(Value(s.substr(start)));
    return parts;
  }
  size_t end = s.size();
  while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
    if (end < sep.size()) break;
    size_t at = s.rfind(sep, end - sep.size());
    if (at == std::string::npos) break;
    parts.push_back(Value(s.substr(at + sep.size(), end - at - sep.size())));
    end = at;
  }
  parts.push_back(Value(s.substr(0, end)));
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::string replace_all(const std::string& s, const std::string& old, const std::string& with,
                        int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts the replacement around every character.
    auto cps = uni::decode(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += with;
        ++done;
      }
      if (i < cps.size()) out += uni::encode(cps, i, i + 1);
    }
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t at = s.find(old, start);
    if (at == std::string::npos) break;
    out.append(s, start, at - start);
    out += with;
    start = at + old.size();
    ++done;
  }
  out.append(s, start, std::string::npos);
  return out;
}

// The [start:end] window of startswith/endswith/find/count, in code points.
std::string window(const std::string& s, const Value& start, const Value& end) {
  if (start.is_undefined() && end.is_undefined()) return s;
  std::optional<int64_t> b;
  std::optional<int64_t> e;
  if (!start.is_undefined() && !start.is_none()) b = want_int(start, "start");
  if (!end.is_undefined() && !end.is_none()) e = want_int(end, "end");
  return slice_value(Value(s), b, e, std::nullopt).as_string();
}

bool affix_match(const std::string& s, const Value& affix, bool prefix, const std::string& fn) {
  auto test = [&](const Value& a) {
    const std::string& x = want_str(a, fn + " first arg");
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0
                  : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.is_tuple()) {
    for (const auto& a : affix.as_list()) {
      if (test(a)) return true;
    }
    return false;
  }
  if (!affix.is_string()) {
    raise_type_error(fn + " first arg must be str or a tuple of str, not " + affix.type_name());
  }
  return test(affix);
}

std::string pad(const std::string& s, int64_t width, const Value& fill, int where) {
  std::string f = " ";
  if (!fill.is_undefined()) {
    f = want_str(fill, "fill character");
    if (uni::length(f) != 1)
      raise_type_error("The fill character must be exactly one character long");
  }
  auto n = static_cast<int64_t>(uni::length(s));
  if (width <= n) return s;
  int64_t total = width - n;
  int64_t left = where < 0 ? 0 : where > 0 ? total : total / 2 + (total & width & 1);
  std::string out;
  for (int64_t i = 0; i < left; ++i) out += f;
  out += s;
  for (int64_t i = 0; i < total - left; ++i) out += f;
  return out;
}

bool all_chars(const std::string& s, bool (*pred)(uint32_t)) {
  auto cps = uni::decode(s);
  if (cps.empty()) return false;
  return std::all_of(cps.begin(), cps.end(), pred);
}

std::string str_format(Interpreter& interp, const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out += '}';
      ++i;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    size_t close = fmt.find('}', i);
    if (close == std::string::npos) raise("ValueError", "Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    char conversion = 0;
    size_t bang = field.find('!');
    if (bang != std::string::npos) {
      conversion = bang + 1 < field.size() ? field[bang + 1] : 0;
      field.resize(bang);
    }
    size_t colon = field.find(':');
    if (colon != std::string::npos) field.resize(colon);
    Value v;
    if (field.empty()) {
      if (auto_index >= args.positional.size())
        raise("IndexError", "Replacement index out of range");
      v = args.positional[auto_index++];
    } else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
      size_t k = std::stoul(field);
      if (k >= args.positional.size()) raise("IndexError", "Replacement index out of range");
      v = args.positional[k];
    } else {
      bool found = false;
      for (const auto& [key, val] : args.keywords) {
        if (key == field) {
          v = val;
          found = true;
        }
      }
      if (!found) raise("KeyError", py_repr_string(field));
    }
    out += conversion == 'r' ? py_repr(v) : py_str(v);
    interp.check_string(out.size());
    i = close;
  }
  return out;
}

}  // namespace

const std::set<std::string>& string_method_names() {
  static const std::set<std::string> m = {
      "strip",      "lstrip",       "rstrip",       "split",     "rsplit",  "splitlines",
      "startswith", "endswith",     "upper",        "lower",     "title",   "capitalize",
      "casefold",   "swapcase",     "replace",      "find",      "rfind",   "index",
      "rindex",     "count",        "join",         "format",    "isdigit", "isalpha",
      "isalnum",    "isspace",      "isupper",      "islower",   "istitle", "isnumeric",
      "isdecimal",  "zfill",        "center",       "ljust",     "rjust",   "partition",
      "rpartition", "removeprefix", "removesuffix", "expandtabs"};
  return m;
}

Value call_string_method(Interpreter& interp, const std::string& s, const std::string& name,
                         CallArgs& args) {
  auto a = [&](std::vector<std::string> params, size_t required = 0) {
    return bind_args(args, params, name, required);
  };
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    auto v = a({"chars"});
    const std::string* chars = nullptr;
    if (!v[0].is_undefined() && !v[0].is_none()) chars = &want_str(v[0], "strip arg");
    return Value(uni::strip(s, chars, name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    auto v = a({"sep", "maxsplit"});
    int64_t maxsplit = v[1].is_undefined() ? -1 : want_int(v[1], "maxsplit");
    bool right = name == "rsplit";
    if (v[0].is_undefined() || v[0].is_none())
      return Value::list(split_whitespace(s, maxsplit, right));
    return Value::list(split_sep(s, want_str(v[0], "separator"), maxsplit, right));
  }
  if (name == "splitlines") {
    auto v = a({"keepends"});
    bool keep = v[0].truthy();
    List lines;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n' || s[i] == '\r') {
        size_t end = i;
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        lines.push_back(Value(s.substr(start, (keep ? i + 1 : end) - start)));
        start = i + 1;
      }
    }
    if (start < s.size()) lines.push_back(Value(s.substr(start)));
    return Value::list(std::move(lines));
  }
  if (name == "startswith" || name == "endswith") {
    auto v = a({"affix", "start", "end"}, 1);
    return Value(affix_match(window(s, v[1], v[2]), v[0], name == "startswith", name));
  }
  if (name == "upper") return Value(uni::upper(s));
  if (name == "lower" || name == "casefold") return Value(uni::lower(s));
  if (name == "title") return Value(uni::title(s));
  if (name == "capitalize") return Value(uni::capitalize(s));
  if (name == "swapcase") {
    std::string out;
    for (uint32_t cp : uni::decode(s)) {
      uint32_t m = uni::is_upper(cp) ? uni::to_lower(cp) : uni::to_upper(cp);
      out += uni::encode({m}, 0, 1);
    }
    return Value(out);
  }
  if (name == "replace") {
    auto v = a({"old", "new", "count"}, 2);
    int64_t count = v[2].is_undefined() ? -1 : want_int(v[2], "count");
    std::string out = replace_all(s, want_str(v[0], "replace() argument 1"),
                                  want_str(v[1], "replace() argument 2"), count);
    interp.check_string(out.size());
    return Value(std::move(out));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    auto v = a({"sub", "start", "end"}, 1);
    const std::string& sub = want_str(v[0], "must be str");
    int64_t offset = 0;
    if (!v[1].is_undefined() && !v[1].is_none()) {
      int64_t st = want_int(v[1], "start");
      auto n = static_cast<int64_t>(uni::length(s));
      offset = st < 0 ? std::max<int64_t>(0, st + n) : std::min(st, n);
    }
    std::string hay = window(s, v[1], v[2]);
    if (name == "count") {
      if (sub.empty()) return Value(static_cast<int64_t>(uni::length(hay)) + 1);
      int64_t n = 0;
      for (size_t at = hay.find(sub); at != std::string::npos; at = hay.find(sub, at + sub.size()))
        ++n;
      return Value(n);
    }
    size_t at = (name[0] == 'r') ? hay.rfind(sub) : hay.find(sub);
    if (at == std::string::npos) {
      if (name == "index" || name == "rindex") raise("ValueError", "substring not found");
      return Value(int64_t{-1});
    }
    return Value(offset + cp_index(hay, at));
  }
  if (name == "join") {
    auto v = a({"iterable"}, 1);
    std::string out;
    List items = interp.iterate(v[0]);
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) {
        raise_type_error("sequence item " + std::to_string(i) + ": expected str instance, " +
                         items[i].type_name() + " found");
      }
      if (i) out += s;
      out += items[i].as_string();
      interp.check_string(out.size());
    }
    return Value(std::move(out));
  }
  if (name == "format") return Value(str_format(interp, s, args));
  if (name == "isdigit" || name == "isnumeric" || name == "isdecimal") {
    return Value(all_chars(s, uni::is_digit));
  }
  if (name == "isalpha") return Value(all_chars(s, uni::is_alpha));
  if (name == "isalnum") {
    return Value(all_chars(s, [](uint32_t c) { return uni::is_alpha(c) || uni::is_digit(c); }));
  }
  if (name == "isspace") return Value(all_chars(s, uni::is_space));
  if (name == "isupper" || name == "islower") {
    bool up = name == "isupper";
    bool cased = false;
    for (uint32_t cp : uni::decode(s)) {
      if (up ? uni::is_lower(cp) : uni::is_upper(cp)) return Value(false);
      if (uni::is_upper(cp) || uni::is_lower(cp)) cased = true;
    }
    return Value(cased);
  }
  if (name == "istitle") return Value(!s.empty() && uni::title(s) == s && uni::lower(s) != s);
  if (name == "zfill") {
    auto v = a({"width"}, 1);
    int64_t width = want_int(v[0], "width");
    auto n = static_cast<int64_t>(uni::length(s));
    if (width <= n) return Value(s);
    std::string zeros(static_cast<size_t>(width - n), '0');
    if (!s.empty() && (s[0] == '-' || s[0] == '+'))
      return Value(s.substr(0, 1) + zeros + s.substr(1));
    return Value(zeros + s);
  }
  if (name == "center" || name == "ljust" || name == "rjust") {
    auto v = a({"width", "fillchar"}, 1);
    int64_t width = want_int(v[0], "width");
    interp.check_string(static_cast<size_t>(std::max<int64_t>(width, 0)));
    return Value(pad(s, width, v[1], name == "ljust" ? -1 : name == "rjust" ? 1 : 0));
  }
  if (name == "partition" || name == "rpartition") {
    auto v = a({"sep"}, 1);
    const std::string& sep = want_str(v[0], "sep");
    if (sep.empty()) raise("ValueError", "empty separator");
    size_t at = name == "partition" ? s.find(sep) : s.rfind(sep);
    if (at == std::string::npos) {
      return name == "partition" ? Value::tuple({Value(s), Value(""), Value("")})
                                 : Value::tuple({Value(""), Value(""), Value(s)});
    }
    return Value::tuple({Value(s.substr(0, at)), Value(sep), Value(s.substr(at + sep.size()))});
  }
  if (name == "removeprefix" || name == "removesuffix") {
    auto v = a({"affix"}, 1);
    const std::string& x = want_str(v[0], name + "() argument");
    if (name == "removeprefix") {
      return Value(s.compare(0, x.size(), x) == 0 ? s.substr(x.size()) : s);
    }
    if (x.size() <= s.size() && s.compare(s.size() - x.size(), x.size(), x) == 0) {
      return Value(s.substr(0, s.size() - x.size()));
    }
    return Value(s);
  }
  if (name == "expandtabs") {
    auto v = a({"tabsize"});
    int64_t tab = v[0].is_undefined() ? 8 : want_int(v[0], "tabsize");
    std::string out;
    int64_t col = 0;
    for (uint32_t cp : uni::decode(s)) {
      if (cp == '\t') {
        int64_t n = tab > 0 ? tab - col % tab : 0;
        out.append(static_cast<size_t>(n), ' ');
        col += n;
      } else {
        out += uni::encode({cp}, 0, 1);
        col = (cp == '\n' || cp == '\r') ? 0 : col + 1;
      }
    }
    return Value(out);
  }
  raise("AttributeError", "'str' object has no attribute '" + name + "'");
}

}  // namespace mlxlm::chat::jinja
