#include "cache/state_tree.h"

#include <cerrno>
#include <cstdlib>

#include "base/error.h"

namespace mlxlm {

MetaTree MetaTree::ints(const std::vector<int64_t>& values) {
  MetaTree m = list();
  for (int64_t v : values) m.items.push_back(str(std::to_string(v)));
  return m;
}

std::vector<int64_t> parse_meta_ints(const MetaTree& meta, size_t count, const std::string& what) {
  if (meta.is_leaf || meta.items.size() != count) {
    throw InvalidInput("cache",
                       what + " meta state must be " + std::to_string(count) + " integers, got " +
                           (meta.is_leaf ? "the string '" + meta.value + "'"
                                         : std::to_string(meta.items.size()) + " entries"));
  }
  std::vector<int64_t> out;
  for (size_t i = 0; i < count; ++i) {
    const MetaTree& m = meta.items[i];
    if (!m.is_leaf || m.value.empty()) {
      throw InvalidInput("cache",
                         what + " meta state entry " + std::to_string(i) + " is not an integer");
    }
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(m.value.c_str(), &end, 10);
    if (errno != 0 || end == nullptr || *end != '\0') {
      throw InvalidInput("cache", what + " meta state entry " + std::to_string(i) + " ('" +
                                      m.value + "') is not an integer");
    }
    out.push_back(v);
  }
  return out;
}

}  // namespace mlxlm

namespace mlxlm {

Tensor take_float(StateTree& node, int ndim, const std::string& what, bool keep_half) {
  if (!node.is_leaf) throw InvalidInput("cache", what + " must be an array, got a list");
  const Tensor& t = node.leaf;
  if (ndim >= 0 && t.ndim() != ndim) {
    throw InvalidInput("cache", what + " must have " + std::to_string(ndim) +
                                    " dimensions, got shape " + shape_str(t.shape()));
  }
  if (t.dtype() == DType::F32) return std::move(node.leaf);
  if (t.dtype() != DType::F16 && t.dtype() != DType::BF16) {
    throw InvalidInput("cache", what + " have dtype " + std::string(dtype_name(t.dtype())) +
                                    ", expected F32, F16 or BF16");
  }
  if (keep_half) return std::move(node.leaf);
  return to_f32(t.view());
}

std::vector<int64_t> take_ints(const StateTree& node, const std::string& what) {
  if (!node.is_leaf) throw InvalidInput("cache", what + " must be an array, got a list");
  const Tensor& t = node.leaf;
  if (t.ndim() != 1) {
    throw InvalidInput("cache", what + " must be a vector, got shape " + shape_str(t.shape()));
  }
  std::vector<int64_t> out(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    switch (t.dtype()) {
      case DType::I32:
        out[i] = t.data<int32_t>()[i];
        break;
      case DType::I64:
        out[i] = t.data<int64_t>()[i];
        break;
      case DType::U32:
        out[i] = t.data<uint32_t>()[i];
        break;
      case DType::I16:
        out[i] = t.data<int16_t>()[i];
        break;
      case DType::I8:
        out[i] = t.data<int8_t>()[i];
        break;
      default:
        throw InvalidInput("cache", what + " have dtype " + std::string(dtype_name(t.dtype())) +
                                        ", expected an integer type");
    }
  }
  return out;
}

void expect_list(const StateTree& node, size_t count, const std::string& what) {
  if (node.is_leaf || node.items.size() != count) {
    throw InvalidInput(
        "cache", what + " state must be a list of " + std::to_string(count) + " entries, got " +
                     (node.is_leaf ? std::string("one array") : std::to_string(node.items.size())));
  }
}

Tensor int_tensor(const std::vector<int64_t>& values) {
  Tensor t(DType::I32, {static_cast<int64_t>(values.size())});
  for (size_t i = 0; i < values.size(); ++i) t.data<int32_t>()[i] = static_cast<int32_t>(values[i]);
  return t;
}

}  // namespace mlxlm
