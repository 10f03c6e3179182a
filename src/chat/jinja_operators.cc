#include "chat/jinja_operators.h"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "chat/jinja_error.h"
#include "chat/jinja_pyformat.h"
#include "chat/jinja_unicode.h"

namespace mlxlm::chat::jinja {

void fail_undefined(const Value& v) {
  const std::string& hint = v.undefined_hint();
  size_t colon = hint.find(": ");
  if (hint.empty() || colon == std::string::npos) raise("UndefinedError", "value is undefined");
  raise(hint.substr(0, colon), hint.substr(colon + 2));
}

namespace {

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  raise_type_error("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" +
                   b.type_name() + "'");
}

void check_overflow(bool overflow) {
  if (overflow) raise("OverflowError", "integer result too large for this implementation");
}

Value int_pow(int64_t base, int64_t exp) {
  int64_t result = 1;
  while (exp > 0) {
    if (exp & 1) check_overflow(__builtin_mul_overflow(result, base, &result));
    exp >>= 1;
    if (exp > 0) check_overflow(__builtin_mul_overflow(base, base, &base));
  }
  return Value(result);
}

Value numeric(const std::string& op, const Value& a, const Value& b) {
  bool fl = a.is_float() || b.is_float();
  if (op == "/") {
    if (b.as_float() == 0) raise("ZeroDivisionError", "division by zero");
    return Value(a.as_float() / b.as_float());
  }
  if (fl) {
    double x = a.as_float();
    double y = b.as_float();
    if (op == "+") return Value(x + y);
    if (op == "-") return Value(x - y);
    if (op == "*") return Value(x * y);
    if (op == "**") return Value(std::pow(x, y));
    if (y == 0) {
      raise("ZeroDivisionError", op == "//" ? "float floor division by zero" : "float modulo");
    }
    double m = std::fmod(x, y);
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    if (op == "%") return Value(m);
    // CPython's float floor division: exact (x - x % y) / y, then floored.
    double div = (x - m) / y;
    if (div == 0) return Value(std::copysign(0.0, x / y));
    double floored = std::floor(div);
    if (div - floored > 0.5) floored += 1.0;
    return Value(floored);
  }
  int64_t x = a.as_int();
  int64_t y = b.as_int();
  int64_t r = 0;
  if (op == "+" || op == "-" || op == "*") {
    bool overflow = op == "+"   ? __builtin_add_overflow(x, y, &r)
                    : op == "-" ? __builtin_sub_overflow(x, y, &r)
                                : __builtin_mul_overflow(x, y, &r);
    check_overflow(overflow);
    return Value(r);
  }
  if (op == "**") {
    if (y < 0) return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
    return int_pow(x, y);
  }
  if (y == 0) {
    raise("ZeroDivisionError",
          op == "//" ? "integer division or modulo by zero" : "integer modulo by zero");
  }
  if (x == INT64_MIN && y == -1) raise("OverflowError", "integer overflow");
  int64_t q = x / y;
  int64_t m = x % y;
  if (m != 0 && ((m < 0) != (y < 0))) {
    m += y;
    --q;
  }
  return op == "%" ? Value(m) : Value(q);
}

Value repeat(Interpreter& interp, const Value& seq, int64_t n) {
  if (seq.is_string()) {
    if (n <= 0) return Value(std::string());
    interp.check_string(seq.as_string().size() * static_cast<size_t>(n));
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.as_string();
    return Value(std::move(out));
  }
  List out;
  if (n > 0) {
    interp.check_collection(seq.as_list().size() * static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      out.insert(out.end(), seq.as_list().begin(), seq.as_list().end());
  }
  return seq.is_tuple() ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

int compare_sequences(const List& x, const List& y);

// -1, 0, 1 for a < b, a == b, a > b; raises for unorderable pairs.
int order(const Value& a, const Value& b, const char* op) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      double x = a.as_float();
      double y = b.as_float();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    return a.as_int() < b.as_int() ? -1 : (a.as_int() > b.as_int() ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if ((a.is_list() && b.is_list()) || (a.is_tuple() && b.is_tuple())) {
    return compare_sequences(a.as_list(), b.as_list());
  }
  raise_type_error(std::string("'") + op + "' not supported between instances of '" +
                   a.type_name() + "' and '" + b.type_name() + "'");
}

int compare_sequences(const List& x, const List& y) {
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (!py_equal(x[i], y[i])) return order(x[i], y[i], "<");
  }
  return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
}

}  // namespace

Value binary_op(Interpreter& interp, const std::string& op, const Value& a, const Value& b) {
  if (op == "~") {
    if (a.is_string() && b.is_string()) {
      interp.check_string(a.as_string().size() + b.as_string().size());
      return Value(a.as_string() + b.as_string());
    }
    std::string s = py_str(a);
    std::string t = py_str(b);
    interp.check_string(s.size() + t.size());
    return Value(s + t);
  }
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (a.is_number() && b.is_number()) return numeric(op, a, b);
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      interp.check_string(a.as_string().size() + b.as_string().size());
      return Value(a.as_string() + b.as_string());
    }
    if ((a.is_list() && b.is_list()) || (a.is_tuple() && b.is_tuple())) {
      interp.check_collection(a.as_list().size() + b.as_list().size());
      List out = a.as_list();
      out.insert(out.end(), b.as_list().begin(), b.as_list().end());
      return a.is_list() ? Value::list(std::move(out)) : Value::tuple(std::move(out));
    }
    if (a.is_string() || a.is_list() || a.is_tuple()) {
      raise_type_error("can only concatenate " + a.type_name() + " (not \"" + b.type_name() +
                       "\") to " + a.type_name());
    }
    unsupported(op, a, b);
  }
  if (op == "*") {
    bool a_seq = a.is_string() || a.is_sequence();
    bool b_seq = b.is_string() || b.is_sequence();
    if (a_seq && (b.is_int() || b.is_bool())) return repeat(interp, a, b.as_int());
    if (b_seq && (a.is_int() || a.is_bool())) return repeat(interp, b, a.as_int());
    if (a_seq || b_seq) {
      raise_type_error("can't multiply sequence by non-int of type '" +
                       (a_seq ? b : a).type_name() + "'");
    }
    unsupported(op, a, b);
  }
  if (op == "%" && a.is_string()) {
    std::string s = percent_format(a.as_string(), b);
    interp.check_string(s.size());
    return Value(std::move(s));
  }
  unsupported(op == "**" ? "** or pow()" : op, a, b);
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::Undefined:
      return false;
    case Value::Kind::String:
      if (!item.is_string()) {
        raise_type_error("'in <string>' requires string as left operand, not " + item.type_name());
      }
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::List:
    case Value::Kind::Tuple:
      for (const auto& v : container.as_list()) {
        if (py_equal(v, item)) return true;
      }
      return false;
    case Value::Kind::Dict:
      if (item.is_list() || item.is_dict()) {
        raise_type_error("unhashable type: '" + item.type_name() + "'");
      }
      return container.as_dict().find(item) != nullptr;
    default:
      raise_type_error("argument of type '" + container.type_name() + "' is not iterable");
  }
}

bool compare_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return py_equal(a, b);
  if (op == "!=") return !py_equal(a, b);
  if (op == "in") return contains(b, a);
  if (op == "notin") return !contains(b, a);
  int c = order(a, b, op.c_str());
  if (op == "<") return c < 0;
  if (op == ">") return c > 0;
  if (op == "<=") return c <= 0;
  return c >= 0;
}

bool py_less(const Value& a, const Value& b) { return order(a, b, "<") < 0; }

Value slice_value(const Value& v, std::optional<int64_t> start, std::optional<int64_t> stop,
                  std::optional<int64_t> step_opt) {
  int64_t step = step_opt.value_or(1);
  if (step == 0) raise("ValueError", "slice step cannot be zero");
  std::vector<uint32_t> cps;
  if (v.is_string()) cps = uni::decode(v.as_string());
  auto n = static_cast<int64_t>(v.is_string() ? cps.size() : v.as_list().size());
  int64_t lower = step > 0 ? 0 : -1;
  int64_t upper = step > 0 ? n : n - 1;
  auto adjust = [&](std::optional<int64_t> x, int64_t fallback) {
    if (!x) return fallback;
    int64_t i = *x;
    if (i < 0) {
      i += n;
      if (i < lower) i = lower;
    } else if (i > upper) {
      i = upper;
    }
    return i;
  };
  int64_t b = adjust(start, step > 0 ? lower : upper);
  int64_t e = adjust(stop, step > 0 ? upper : lower);
  std::vector<size_t> picks;
  for (int64_t i = b; step > 0 ? i < e : i > e; i += step) picks.push_back(static_cast<size_t>(i));
  if (v.is_string()) {
    std::string out;
    for (size_t i : picks) out += uni::encode(cps, i, i + 1);
    return Value(std::move(out));
  }
  List out;
  out.reserve(picks.size());
  for (size_t i : picks) out.push_back(v.as_list()[i]);
  return v.is_tuple() ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

std::string percent_format(const std::string& format, const Value& args) {
  List values = args.is_tuple() ? args.as_list() : List{args};
  const Dict* mapping = args.is_dict() ? &args.as_dict() : nullptr;
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    if (++i >= format.size()) raise("ValueError", "incomplete format");
    const Value* arg = nullptr;
    if (format[i] == '(') {
      size_t close = format.find(')', i);
      if (close == std::string::npos || mapping == nullptr) {
        raise_type_error("format requires a mapping");
      }
      arg = mapping->find(format.substr(i + 1, close - i - 1));
      if (arg == nullptr) raise("KeyError", py_repr_string(format.substr(i + 1, close - i - 1)));
      i = close + 1;
    }
    std::string spec = "%";
    while (i < format.size() && std::string("-+ #0").find(format[i]) != std::string::npos) {
      spec += format[i++];
    }
    while (i < format.size() &&
           (std::isdigit(static_cast<unsigned char>(format[i])) || format[i] == '.')) {
      spec += format[i++];
    }
    if (i >= format.size()) raise("ValueError", "incomplete format");
    char conv = format[i];
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (arg == nullptr) {
      if (next >= values.size()) raise_type_error("not enough arguments for format string");
      arg = &values[next++];
    }
    char buf[512];
    switch (conv) {
      case 's':
      case 'r': {
        std::string s = conv == 's' ? py_str(*arg) : py_repr(*arg);
        std::snprintf(buf, sizeof buf, (spec + "s").c_str(), s.c_str());
        out += (spec == "%") ? s : std::string(buf);
        break;
      }
      case 'd':
      case 'i':
      case 'x':
      case 'X':
      case 'o':
      case 'c': {
        if (!arg->is_number()) {
          raise_type_error(std::string("%") + conv + " format: a real number is required, not " +
                           arg->type_name());
        }
        auto n =
            static_cast<long long>(arg->is_float() ? std::trunc(arg->as_float()) : arg->as_int());
        std::snprintf(buf, sizeof buf, (spec + "ll" + (conv == 'i' ? 'd' : conv)).c_str(), n);
        out += buf;
        break;
      }
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G': {
        if (!arg->is_number()) {
          raise_type_error("must be real number, not " + arg->type_name());
        }
        std::snprintf(buf, sizeof buf, (spec + conv).c_str(), arg->as_float());
        out += buf;
        break;
      }
      default:
        raise("ValueError", std::string("unsupported format character '") + conv + "'");
    }
  }
  if (mapping == nullptr && next < values.size()) {
    raise_type_error("not all arguments converted during string formatting");
  }
  return out;
}

}  // namespace mlxlm::chat::jinja
