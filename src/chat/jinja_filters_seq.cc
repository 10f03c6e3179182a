// Filters over sequences and mappings: length, join, first/last, select/reject(attr), map,
// sort, unique, dictsort, items...
#include <algorithm>

#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"
#include "chat/jinja_objects.h"
#include "chat/jinja_operators.h"
#include "chat/jinja_pyformat.h"
#include "chat/jinja_unicode.h"

namespace mlxlm::chat::jinja {

Value get_attribute_path(Interpreter& interp, const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    v = numeric ? interp.getitem(v, Value(static_cast<int64_t>(std::stoll(part))))
                : interp.getitem(v, Value(part));
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

namespace {

Value lowered(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(uni::lower(v.as_string()));
  return v;
}

Value f_length(Interpreter&, const Value& v, CallArgs&) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
      return Value(int64_t{0});
    case Value::Kind::String:
      return Value(static_cast<int64_t>(uni::length(v.as_string())));
    case Value::Kind::List:
    case Value::Kind::Tuple:
      return Value(static_cast<int64_t>(v.as_list().size()));
    case Value::Kind::Dict:
      return Value(static_cast<int64_t>(v.as_dict().size()));
    default:
      raise_type_error("object of type '" + v.type_name() + "' has no len()");
  }
}

Value f_list(Interpreter& interp, const Value& v, CallArgs&) {
  if (v.is_list()) return v;
  return Value::list(interp.iterate(v));
}

Value f_join(Interpreter& interp, const Value& v, CallArgs& args) {
  auto a = bind_args(args, {"d", "attribute"}, "join");
  std::string sep = a[0].is_undefined() ? "" : py_str(a[0]);
  std::string out;
  bool first = true;
  for (const auto& item : interp.iterate(v)) {
    if (!first) out += sep;
    first = false;
    out += py_str(a[1].is_undefined() ? item : get_attribute_path(interp, item, py_str(a[1])));
    interp.check_string(out.size());
  }
  return Value(std::move(out));
}

Value f_items(Interpreter&, const Value& v, CallArgs&) {
  if (v.is_undefined()) return Value::list();
  if (!v.is_dict()) raise_type_error("Can only get item pairs from a mapping.");
  List out;
  for (const auto& [k, val] : v.as_dict().items()) out.push_back(Value::tuple({k, val}));
  return Value::list(std::move(out));
}

Value f_first(Interpreter& interp, const Value& v, CallArgs&) {
  List items = interp.iterate(v);
  if (items.empty()) return Value::undefined("UndefinedError: No first item, sequence was empty.");
  return items.front();
}

Value f_last(Interpreter& interp, const Value& v, CallArgs&) {
  List items = interp.iterate(v);
  if (items.empty()) return Value::undefined("UndefinedError: No last item, sequence was empty.");
  return items.back();
}

// select / reject / selectattr / rejectattr share this: an optional attribute, a test name
// (truthiness when absent) and the test's arguments.
Value select_impl(Interpreter& interp, const Value& v, CallArgs& args, bool with_attr,
                  bool keep_when) {
  CallArgs test_args;
  std::string attr;
  size_t next = 0;
  if (with_attr) {
    if (args.positional.empty()) raise_type_error("selectattr/rejectattr need an attribute name");
    attr = py_str(args.positional[next++]);
  }
  std::string test;
  if (next < args.positional.size()) test = py_str(args.positional[next++]);
  for (; next < args.positional.size(); ++next)
    test_args.positional.push_back(args.positional[next]);
  test_args.keywords = args.keywords;
  List out;
  for (const auto& item : interp.iterate(v)) {
    Value probe = with_attr ? get_attribute_path(interp, item, attr) : item;
    bool r = test.empty() ? probe.truthy() : interp.apply_test(test, probe, test_args);
    if (r == keep_when) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value f_select(Interpreter& i, const Value& v, CallArgs& a) {
  return select_impl(i, v, a, false, true);
}
Value f_reject(Interpreter& i, const Value& v, CallArgs& a) {
  return select_impl(i, v, a, false, false);
}
Value f_selectattr(Interpreter& i, const Value& v, CallArgs& a) {
  return select_impl(i, v, a, true, true);
}
Value f_rejectattr(Interpreter& i, const Value& v, CallArgs& a) {
  return select_impl(i, v, a, true, false);
}

Value f_map(Interpreter& interp, const Value& v, CallArgs& args) {
  List out;
  List items = interp.iterate(v);
  if (args.positional.empty()) {
    std::string attribute;
    Value fallback;
    bool has_attribute = false;
    for (const auto& [k, val] : args.keywords) {
      if (k == "attribute") {
        attribute = py_str(val);
        has_attribute = true;
      } else if (k == "default") {
        fallback = val;
      } else {
        raise("FilterArgumentError", "Unexpected keyword argument '" + k + "'");
      }
    }
    if (!has_attribute) raise("FilterArgumentError", "map requires a filter or an attribute");
    for (const auto& item : items) {
      Value x = get_attribute_path(interp, item, attribute);
      out.push_back(x.is_undefined() && !fallback.is_undefined() ? fallback : x);
    }
    return Value::list(std::move(out));
  }
  std::string filter = py_str(args.positional[0]);
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keywords = args.keywords;
  for (const auto& item : items) {
    CallArgs copy = rest;
    out.push_back(interp.apply_filter(filter, item, copy));
  }
  return Value::list(std::move(out));
}

Value f_unique(Interpreter& interp, const Value& v, CallArgs& args) {
  auto a = bind_args(args, {"case_sensitive", "attribute"}, "unique");
  List seen;
  List out;
  for (const auto& item : interp.iterate(v)) {
    Value key = a[1].is_undefined() ? item : get_attribute_path(interp, item, py_str(a[1]));
    key = lowered(key, a[0].truthy());
    bool dup =
        std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return py_equal(s, key); });
    if (dup) continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return Value::list(std::move(out));
}

void sort_by_key(List& items, std::vector<Value>& keys, bool reverse) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return reverse ? py_less(keys[y], keys[x]) : py_less(keys[x], keys[y]);
  });
  List sorted;
  sorted.reserve(items.size());
  for (size_t i : order) sorted.push_back(items[i]);
  items = std::move(sorted);
}

Value f_sort(Interpreter& interp, const Value& v, CallArgs& args) {
  auto a = bind_args(args, {"reverse", "case_sensitive", "attribute"}, "sort");
  List items = interp.iterate(v);
  std::vector<Value> keys;
  for (const auto& item : items) {
    Value key = a[2].is_undefined() ? item : get_attribute_path(interp, item, py_str(a[2]));
    keys.push_back(lowered(key, a[1].truthy()));
  }
  sort_by_key(items, keys, a[0].truthy());
  return Value::list(std::move(items));
}

Value f_dictsort(Interpreter&, const Value& v, CallArgs& args) {
  auto a = bind_args(args, {"case_sensitive", "by", "reverse"}, "dictsort");
  if (!v.is_dict()) raise("FilterArgumentError", "You can only sort dicts with dictsort");
  std::string by = a[1].is_undefined() ? "key" : py_str(a[1]);
  if (by != "key" && by != "value")
    raise("FilterArgumentError", "You can only sort by either 'key' or 'value'");
  List items;
  std::vector<Value> keys;
  for (const auto& [k, val] : v.as_dict().items()) {
    items.push_back(Value::tuple({k, val}));
    keys.push_back(lowered(by == "key" ? k : val, a[0].truthy()));
  }
  sort_by_key(items, keys, a[2].truthy());
  return Value::list(std::move(items));
}

Value f_reverse(Interpreter& interp, const Value& v, CallArgs&) {
  if (v.is_string()) return slice_value(v, std::nullopt, std::nullopt, int64_t{-1});
  List items = interp.iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::list(std::move(items));
}

Value f_sum(Interpreter& interp, const Value& v, CallArgs& args) {
  auto a = bind_args(args, {"attribute", "start"}, "sum");
  Value total = a[1].is_undefined() ? Value(int64_t{0}) : a[1];
  for (const auto& item : interp.iterate(v)) {
    Value x = a[0].is_undefined() ? item : get_attribute_path(interp, item, py_str(a[0]));
    total = binary_op(interp, "+", total, x);
  }
  return total;
}

Value min_max(Interpreter& interp, const Value& v, CallArgs& args, bool want_max) {
  auto a = bind_args(args, {"case_sensitive", "attribute"}, want_max ? "max" : "min");
  List items = interp.iterate(v);
  if (items.empty())
    return Value::undefined("UndefinedError: No aggregated item, sequence was empty.");
  size_t best = 0;
  Value best_key;
  for (size_t i = 0; i < items.size(); ++i) {
    Value key = a[1].is_undefined() ? items[i] : get_attribute_path(interp, items[i], py_str(a[1]));
    key = lowered(key, a[0].truthy());
    if (i == 0 || (want_max ? py_less(best_key, key) : py_less(key, best_key))) {
      best = i;
      best_key = key;
    }
  }
  return items[best];
}

Value f_max(Interpreter& i, const Value& v, CallArgs& a) { return min_max(i, v, a, true); }
Value f_min(Interpreter& i, const Value& v, CallArgs& a) { return min_max(i, v, a, false); }

Value f_batch(Interpreter& interp, const Value& v, CallArgs& args) {
  auto a = bind_args(args, {"linecount", "fill_with"}, "batch", 1);
  int64_t n = a[0].is_int() ? a[0].as_int() : 0;
  if (n <= 0) raise("ValueError", "batch size must be positive");
  List out;
  List current;
  for (const auto& item : interp.iterate(v)) {
    current.push_back(item);
    if (static_cast<int64_t>(current.size()) == n) {
      out.push_back(Value::list(std::move(current)));
      current.clear();
    }
  }
  if (!current.empty()) {
    if (!a[1].is_undefined()) {
      while (static_cast<int64_t>(current.size()) < n) current.push_back(a[1]);
    }
    out.push_back(Value::list(std::move(current)));
  }
  return Value::list(std::move(out));
}

}  // namespace

void add_sequence_filters(FilterTable& t) {
  t["length"] = f_length;
  t["count"] = f_length;
  t["list"] = f_list;
  t["join"] = f_join;
  t["items"] = f_items;
  t["first"] = f_first;
  t["last"] = f_last;
  t["select"] = f_select;
  t["reject"] = f_reject;
  t["selectattr"] = f_selectattr;
  t["rejectattr"] = f_rejectattr;
  t["map"] = f_map;
  t["unique"] = f_unique;
  t["sort"] = f_sort;
  t["dictsort"] = f_dictsort;
  t["reverse"] = f_reverse;
  t["sum"] = f_sum;
  t["max"] = f_max;
  t["min"] = f_min;
  t["batch"] = f_batch;
}

}  // namespace mlxlm::chat::jinja
