// Filters on single values: text, numbers, JSON and defaults.
#include <cmath>
#include <cstdlib>

#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"
#include "chat/jinja_json.h"
#include "chat/jinja_objects.h"
#include "chat/jinja_operators.h"
#include "chat/jinja_pyformat.h"
#include "chat/jinja_unicode.h"

namespace mlxlm::chat::jinja {

namespace {

std::vector<Value> bind(const CallArgs& args, std::vector<std::string> params, const char* fn) {
  return bind_args(args, params, fn);
}

Value f_tojson(Interpreter& interp, const Value& v, CallArgs& args) {
  auto a = bind(args, {"ensure_ascii", "indent", "separators", "sort_keys"}, "tojson");
  JsonDumpOptions o;
  o.ensure_ascii = a[0].truthy();
  if (a[1].is_int()) {
    o.indent = std::string(static_cast<size_t>(std::max<int64_t>(a[1].as_int(), 0)), ' ');
  } else if (a[1].is_string()) {
    o.indent = a[1].as_string();
  } else if (!a[1].is_undefined() && !a[1].is_none()) {
    raise_type_error("tojson indent must be an int or a str");
  }
  if (a[2].is_sequence() && a[2].as_list().size() == 2 && a[2].as_list()[0].is_string() &&
      a[2].as_list()[1].is_string()) {
    o.separators = std::make_pair(a[2].as_list()[0].as_string(), a[2].as_list()[1].as_string());
  } else if (!a[2].is_undefined() && !a[2].is_none()) {
    raise_type_error("tojson separators must be a pair of strings");
  }
  o.sort_keys = a[3].truthy();
  std::string out = json_dumps(v, o);
  interp.check_string(out.size());
  return Value(std::move(out));
}

Value f_string(Interpreter&, const Value& v, CallArgs& args) {
  bind(args, {}, "string");
  return Value(py_str(v));
}

Value f_trim(Interpreter&, const Value& v, CallArgs& args) {
  auto a = bind(args, {"chars"}, "trim");
  std::string chars;
  bool have = a[0].is_string();
  if (have) chars = a[0].as_string();
  return Value(uni::strip(py_str(v), have ? &chars : nullptr, true, true));
}

Value f_upper(Interpreter&, const Value& v, CallArgs&) { return Value(uni::upper(py_str(v))); }
Value f_lower(Interpreter&, const Value& v, CallArgs&) { return Value(uni::lower(py_str(v))); }
Value f_capitalize(Interpreter&, const Value& v, CallArgs&) {
  return Value(uni::capitalize(py_str(v)));
}

// Jinja's title filter capitalizes after runs of -, whitespace and opening brackets.
Value f_title(Interpreter&, const Value& v, CallArgs&) {
  auto cps = uni::decode(py_str(v));
  std::string out;
  bool word_start = true;
  for (uint32_t cp : cps) {
    bool sep = cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || uni::is_space(cp);
    if (sep) {
      word_start = true;
      out += uni::encode({cp}, 0, 1);
      continue;
    }
    out += uni::encode({word_start ? uni::to_upper(cp) : uni::to_lower(cp)}, 0, 1);
    word_start = false;
  }
  return Value(out);
}

Value f_replace(Interpreter& interp, const Value& v, CallArgs& args) {
  auto a = bind_args(args, {"old", "new", "count"}, "replace", 2);
  CallArgs inner;
  inner.positional = {Value(py_str(a[0])), Value(py_str(a[1]))};
  if (!a[2].is_undefined() && !a[2].is_none()) inner.positional.push_back(a[2]);
  return interp.call(interp.getattr(Value(py_str(v)), "replace"), inner);
}

Value f_default(Interpreter&, const Value& v, CallArgs& args) {
  auto a = bind(args, {"default_value", "boolean"}, "default");
  Value fallback = a[0].is_undefined() ? Value(std::string()) : a[0];
  if (v.is_undefined() || (a[1].truthy() && !v.truthy())) return fallback;
  return v;
}

Value f_safe(Interpreter&, const Value& v, CallArgs&) {
  return v.is_string() ? v : Value(py_str(v));
}

Value f_escape(Interpreter&, const Value& v, CallArgs&) {
  std::string out;
  for (char c : py_str(v)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return Value(out);
}

// Python int(str): optional sign, digits with single underscores, surrounding whitespace.
bool parse_python_int(const std::string& text, int base, int64_t& out) {
  std::string s = uni::strip(text, nullptr, true, true);
  std::string digits;
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (base == 16 && s.compare(i, 2, "0x") == 0) i += 2;
  for (; i < s.size(); ++i) {
    if (s[i] == '_' && !digits.empty() && i + 1 < s.size() && s[i + 1] != '_') continue;
    digits += s[i];
  }
  if (digits.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(digits.c_str(), &end, base);
  if (*end != '\0' || errno == ERANGE) return false;
  out = neg ? -v : v;
  return true;
}

bool parse_python_float(const std::string& text, double& out) {
  std::string s = uni::strip(text, nullptr, true, true);
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return *end == '\0';
}

Value f_int(Interpreter&, const Value& v, CallArgs& args) {
  auto a = bind(args, {"default", "base"}, "int");
  Value fallback = a[0].is_undefined() ? Value(int64_t{0}) : a[0];
  int base = a[1].is_int() ? static_cast<int>(a[1].as_int()) : 10;
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_bool() || v.is_int()) return Value(v.as_int());
  if (v.is_float()) {
    double d = v.as_float();
    if (std::isnan(d) || std::isinf(d)) return fallback;
    return Value(static_cast<int64_t>(std::trunc(d)));
  }
  if (v.is_string()) {
    int64_t i = 0;
    if (parse_python_int(v.as_string(), base, i)) return Value(i);
    double d = 0;
    if (parse_python_float(v.as_string(), d) && std::isfinite(d)) {
      return Value(static_cast<int64_t>(std::trunc(d)));
    }
  }
  return fallback;
}

Value f_float(Interpreter&, const Value& v, CallArgs& args) {
  auto a = bind(args, {"default"}, "float");
  Value fallback = a[0].is_undefined() ? Value(0.0) : a[0];
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_number()) return Value(v.as_float());
  double d = 0;
  if (v.is_string() && parse_python_float(v.as_string(), d)) return Value(d);
  return fallback;
}

Value f_abs(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_float()) return Value(std::fabs(v.as_float()));
  if (v.is_int() || v.is_bool()) return Value(static_cast<int64_t>(std::llabs(v.as_int())));
  raise_type_error("bad operand type for abs(): '" + v.type_name() + "'");
}

Value f_round(Interpreter&, const Value& v, CallArgs& args) {
  auto a = bind(args, {"precision", "method"}, "round");
  int64_t precision = a[0].is_int() ? a[0].as_int() : 0;
  std::string method = a[1].is_string() ? a[1].as_string() : "common";
  if (method != "common" && method != "ceil" && method != "floor") {
    raise_type_error("method must be common, ceil or floor");
  }
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_number())
    raise_type_error("type " + v.type_name() + " doesn't define __round__ method");
  if (method == "common" && !v.is_float()) return Value(v.as_int());
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.as_float() * scale;
  double r = method == "ceil"    ? std::ceil(x)
             : method == "floor" ? std::floor(x)
                                 : std::nearbyint(x);
  return Value(r / scale);
}

Value f_center(Interpreter& interp, const Value& v, CallArgs& args) {
  auto a = bind(args, {"width"}, "center");
  CallArgs inner;
  inner.positional = {a[0].is_undefined() ? Value(int64_t{80}) : a[0]};
  return interp.call(interp.getattr(Value(py_str(v)), "center"), inner);
}

Value f_indent(Interpreter&, const Value& v, CallArgs& args) {
  auto a = bind(args, {"width", "first", "blank"}, "indent");
  std::string indention =
      a[0].is_string()
          ? a[0].as_string()
          : std::string(
                static_cast<size_t>(a[0].is_int() ? std::max<int64_t>(a[0].as_int(), 0) : 4), ' ');
  std::string s = py_str(v) + "\n";
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') {
      lines.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  std::string rv;
  if (a[1].truthy()) rv.append(indention);
  rv.append(lines[0]);
  for (size_t i = 1; i < lines.size(); ++i) {
    rv.push_back('\n');
    if (a[2].truthy() || !lines[i].empty()) rv.append(indention);
    rv.append(lines[i]);
  }
  return Value(rv);
}

Value f_truncate(Interpreter&, const Value& v, CallArgs& args) {
  auto a = bind(args, {"length", "killwords", "end", "leeway"}, "truncate");
  int64_t length = a[0].is_int() ? a[0].as_int() : 255;
  std::string end = a[2].is_string() ? a[2].as_string() : "...";
  int64_t leeway = a[3].is_int() ? a[3].as_int() : 5;
  auto cps = uni::decode(py_str(v));
  auto n = static_cast<int64_t>(cps.size());
  if (n <= length + leeway) return Value(py_str(v));
  auto keep =
      static_cast<size_t>(std::max<int64_t>(0, length - static_cast<int64_t>(uni::length(end))));
  std::string head = uni::encode(cps, 0, std::min(keep, cps.size()));
  if (a[1].truthy()) return Value(head + end);
  size_t space = head.rfind(' ');
  if (space != std::string::npos) head.resize(space);
  return Value(head + end);
}

Value f_wordcount(Interpreter&, const Value& v, CallArgs&) {
  int64_t n = 0;
  bool in_word = false;
  for (uint32_t cp : uni::decode(py_str(v))) {
    bool w = uni::is_alpha(cp) || uni::is_digit(cp) || cp == '_' || cp > 0x7f;
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value(n);
}

Value f_format(Interpreter&, const Value& v, CallArgs& args) {
  if (!args.positional.empty() && !args.keywords.empty()) {
    raise("FilterArgumentError", "can't handle positional and keyword arguments at the same time");
  }
  if (!args.keywords.empty()) {
    Dict d;
    for (const auto& [k, val] : args.keywords) d.set(Value(k), val);
    return Value(percent_format(py_str(v), Value::dict(std::move(d))));
  }
  return Value(percent_format(py_str(v), Value::tuple(args.positional)));
}

Value f_attr(Interpreter& interp, const Value& v, CallArgs& args) {
  auto a = bind_args(args, {"name"}, "attr", 1);
  return interp.getattr(v, py_str(a[0]));
}

Value f_pprint(Interpreter&, const Value& v, CallArgs&) { return Value(py_repr(v)); }

}  // namespace

void add_string_filters(FilterTable& t) {
  t["tojson"] = f_tojson;
  t["string"] = f_string;
  t["trim"] = f_trim;
  t["upper"] = f_upper;
  t["lower"] = f_lower;
  t["capitalize"] = f_capitalize;
  t["title"] = f_title;
  t["replace"] = f_replace;
  t["default"] = f_default;
  t["d"] = f_default;
  t["safe"] = f_safe;
  t["escape"] = f_escape;
  t["e"] = f_escape;
  t["forceescape"] = f_escape;
  t["int"] = f_int;
  t["float"] = f_float;
  t["abs"] = f_abs;
  t["round"] = f_round;
  t["center"] = f_center;
  t["indent"] = f_indent;
  t["truncate"] = f_truncate;
  t["wordcount"] = f_wordcount;
  t["format"] = f_format;
  t["attr"] = f_attr;
  t["pprint"] = f_pprint;
}

}  // namespace mlxlm::chat::jinja
