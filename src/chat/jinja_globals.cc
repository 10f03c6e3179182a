// Global functions: Jinja2's range / dict / namespace / cycler / joiner, and the two that
// transformers adds, raise_exception and strftime_now.
#include <ctime>
#include <memory>

#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"
#include "chat/jinja_objects.h"
#include "chat/jinja_pyformat.h"

namespace mlxlm::chat::jinja {

namespace {

// Jinja2's sandbox refuses ranges longer than this.
constexpr int64_t kMaxRange = 100000;

int64_t range_arg(const Value& v) {
  if (v.is_undefined()) raise("UndefinedError", "range() argument is undefined");
  if (!v.is_int() && !v.is_bool()) {
    raise_type_error("'" + v.type_name() + "' object cannot be interpreted as an integer");
  }
  return v.as_int();
}

Value g_range(Interpreter& interp, CallArgs& args) {
  if (!args.keywords.empty()) raise_type_error("range() takes no keyword arguments");
  const auto& p = args.positional;
  if (p.empty() || p.size() > 3) raise_type_error("range expected 1 to 3 arguments");
  int64_t start = 0;
  int64_t stop = 0;
  int64_t step = 1;
  if (p.size() == 1) {
    stop = range_arg(p[0]);
  } else {
    start = range_arg(p[0]);
    stop = range_arg(p[1]);
    if (p.size() == 3) step = range_arg(p[2]);
  }
  if (step == 0) raise("ValueError", "range() arg 3 must not be zero");
  int64_t count = 0;
  if (step > 0 && start < stop) count = (stop - start - 1) / step + 1;
  if (step < 0 && start > stop) count = (start - stop - 1) / (-step) + 1;
  if (count > kMaxRange) {
    raise("OverflowError",
          "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  }
  interp.check_collection(static_cast<size_t>(count));
  List out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) out.push_back(Value(start + i * step));
  return Value::list(std::move(out));
}

// dict(mapping_or_pairs, **kwargs), as Python builds it.
Dict build_dict(Interpreter& interp, const CallArgs& args, const char* fn) {
  if (args.positional.size() > 1) {
    raise_type_error(std::string(fn) + " expected at most 1 argument, got " +
                     std::to_string(args.positional.size()));
  }
  Dict d;
  if (!args.positional.empty()) {
    const Value& src = args.positional[0];
    if (src.is_dict()) {
      d = src.as_dict();
    } else {
      for (const auto& pair : interp.iterate(src)) {
        List kv = interp.iterate(pair);
        if (kv.size() != 2)
          raise("ValueError", "dictionary update sequence element has wrong length");
        d.set(kv[0], kv[1]);
      }
    }
  }
  for (const auto& [k, v] : args.keywords) d.set(Value(k), v);
  return d;
}

class Cycler : public Object, public std::enable_shared_from_this<Cycler> {
 public:
  explicit Cycler(List items) : items_(std::move(items)) {}
  std::string type_name() const override { return "Cycler"; }
  bool get_attr(const std::string& name, Value& out) const override {
    auto self = const_cast<Cycler*>(this)->shared_from_this();
    if (name == "current") {
      out = items_[pos_];
    } else if (name == "next") {
      out = Value::object(std::make_shared<Builtin>("next", [self](Interpreter&, CallArgs&) {
        Value v = self->items_[self->pos_];
        self->pos_ = (self->pos_ + 1) % self->items_.size();
        return v;
      }));
    } else if (name == "reset") {
      out = Value::object(std::make_shared<Builtin>("reset", [self](Interpreter&, CallArgs&) {
        self->pos_ = 0;
        return Value::none();
      }));
    } else {
      return false;
    }
    return true;
  }

 private:
  List items_;
  size_t pos_ = 0;
};

class Joiner : public Object {
 public:
  explicit Joiner(std::string sep) : sep_(std::move(sep)) {}
  std::string type_name() const override { return "Joiner"; }
  bool callable() const override { return true; }
  Value call(Interpreter&, CallArgs&) override {
    if (!used_) {
      used_ = true;
      return Value(std::string());
    }
    return Value(sep_);
  }

 private:
  std::string sep_;
  bool used_ = false;
};

Value builtin(const char* name, BuiltinFn fn) {
  return Value::object(std::make_shared<Builtin>(name, std::move(fn)));
}

}  // namespace

void install_globals(Scope& scope) {
  scope.set("range", builtin("range", g_range));
  scope.set("dict", builtin("dict", [](Interpreter& interp, CallArgs& args) {
              return Value::dict(build_dict(interp, args, "dict"));
            }));
  scope.set("namespace", builtin("namespace", [](Interpreter& interp, CallArgs& args) {
              auto ns = std::make_shared<Namespace>();
              Dict attrs = build_dict(interp, args, "namespace");
              for (const auto& [k, v] : attrs.items()) {
                if (!k.is_string()) raise_type_error("namespace keys must be strings");
                ns->set_attr(k.as_string(), v);
              }
              return Value::object(ns);
            }));
  scope.set("cycler", builtin("cycler", [](Interpreter&, CallArgs& args) {
              if (args.positional.empty()) raise_type_error("cycler needs at least one item");
              return Value::object(std::make_shared<Cycler>(args.positional));
            }));
  scope.set(
      "joiner", builtin("joiner", [](Interpreter&, CallArgs& args) {
        auto a = bind_args(args, {"sep"}, "joiner");
        return Value::object(std::make_shared<Joiner>(a[0].is_undefined() ? ", " : py_str(a[0])));
      }));
  scope.set("raise_exception",
            builtin("raise_exception", [](Interpreter&, CallArgs& args) -> Value {
              auto a = bind_args(args, {"message"}, "raise_exception", 1);
              raise("TemplateError", py_str(a[0]));
            }));
  scope.set("strftime_now", builtin("strftime_now", [](Interpreter& interp, CallArgs& args) {
              auto a = bind_args(args, {"format"}, "strftime_now", 1);
              std::string format = py_str(a[0]);
              if (format.empty()) return Value(std::string());
              std::tm now = interp.now();
              std::string buf(256 + format.size() * 16, '\0');
              size_t n = std::strftime(buf.data(), buf.size(), format.c_str(), &now);
              buf.resize(n);
              return Value(buf);
            }));
}

}  // namespace mlxlm::chat::jinja
