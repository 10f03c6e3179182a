#include "chat/jinja_json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "base/utf8.h"
#include "chat/jinja_error.h"
#include "chat/jinja_pyformat.h"

namespace mlxlm::chat::jinja {
namespace {

void append_escaped(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = utf8::next(s, i);
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    char buf[16];
    if (cp < 0x20 || (ensure_ascii && cp >= 0x7f)) {
      if (cp >= 0x10000) {
        uint32_t v = cp - 0x10000;
        std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
      } else {
        std::snprintf(buf, sizeof buf, "\\u%04x", cp);
      }
      out += buf;
    } else {
      utf8::append(out, cp);
    }
  }
  out += '"';
}

std::string float_json(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return py_float_repr(d);
}

class Dumper {
 public:
  explicit Dumper(const JsonDumpOptions& o) : o_(o) {
    if (o.separators) {
      item_sep_ = o.separators->first;
      key_sep_ = o.separators->second;
    } else {
      item_sep_ = o.indent ? "," : ", ";
      key_sep_ = ": ";
    }
  }

  void dump(const Value& v, int level, std::string& out) {
    if (level > 512) raise("ValueError", "Circular reference detected");
    switch (v.kind()) {
      case Value::Kind::None:
        out += "null";
        return;
      case Value::Kind::Bool:
        out += v.as_bool() ? "true" : "false";
        return;
      case Value::Kind::Int:
        out += std::to_string(v.as_int());
        return;
      case Value::Kind::Float:
        out += float_json(v.as_float());
        return;
      case Value::Kind::String:
        append_escaped(out, v.as_string(), o_.ensure_ascii);
        return;
      case Value::Kind::List:
      case Value::Kind::Tuple:
        dump_list(v.as_list(), level, out);
        return;
      case Value::Kind::Dict:
        dump_dict(v.as_dict(), level, out);
        return;
      default:
        raise_type_error("Object of type " + v.type_name() + " is not JSON serializable");
    }
  }

 private:
  void newline(int level, std::string& out) {
    if (!o_.indent) return;
    out += '\n';
    for (int i = 0; i < level; ++i) out += *o_.indent;
  }

  void dump_list(const List& items, int level, std::string& out) {
    if (items.empty()) {
      out += "[]";
      return;
    }
    out += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += item_sep_;
      newline(level + 1, out);
      dump(items[i], level + 1, out);
    }
    newline(level, out);
    out += ']';
  }

  std::string key_string(const Value& k) {
    switch (k.kind()) {
      case Value::Kind::String:
        return k.as_string();
      case Value::Kind::Int:
        return std::to_string(k.as_int());
      case Value::Kind::Float:
        return float_json(k.as_float());
      case Value::Kind::Bool:
        return k.as_bool() ? "true" : "false";
      case Value::Kind::None:
        return "null";
      default:
        raise_type_error("keys must be str, int, float, bool or None, not " + k.type_name());
    }
  }

  void dump_dict(const Dict& d, int level, std::string& out) {
    if (d.empty()) {
      out += "{}";
      return;
    }
    std::vector<std::pair<std::string, const Value*>> entries;
    entries.reserve(d.size());
    for (const auto& [k, v] : d.items()) entries.emplace_back(key_string(k), &v);
    if (o_.sort_keys) {
      std::stable_sort(entries.begin(), entries.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    out += '{';
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i) out += item_sep_;
      newline(level + 1, out);
      append_escaped(out, entries[i].first, o_.ensure_ascii);
      out += key_sep_;
      dump(*entries[i].second, level + 1, out);
    }
    newline(level, out);
    out += '}';
  }

  const JsonDumpOptions& o_;
  std::string item_sep_;
  std::string key_sep_;
};

template <typename J>
Value convert(const J& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return Value::none();
    case nlohmann::json::value_t::boolean:
      return Value(j.template get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Value(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.template get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Value(static_cast<double>(u));
      }
      return Value(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float:
      return Value(j.template get<double>());
    case nlohmann::json::value_t::string:
      return Value(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(convert(e));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d.set(Value(it.key()), convert(it.value()));
      return Value::dict(std::move(d));
    }
    default:
      return Value::none();
  }
}

}  // namespace

std::string json_dumps(const Value& v, const JsonDumpOptions& options) {
  std::string out;
  Dumper(options).dump(v, 0, out);
  return out;
}

Value from_json(const OrderedJson& j) { return convert(j); }
Value from_json(const Json& j) { return convert(j); }

}  // namespace mlxlm::chat::jinja
