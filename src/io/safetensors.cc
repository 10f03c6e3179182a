#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "base/error.h"
#include "io/json.h"

namespace mlxlm {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // same bound as the safetensors crate

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw InvalidInput("safetensors", path + ": " + what);
}

SafetensorsEntry parse_entry(const std::string& path, const std::string& name, const Json& j) {
  if (!j.is_object()) fail(path, "tensor '" + name + "': entry is not a JSON object");
  SafetensorsEntry e;
  auto dt = j.find("dtype");
  if (dt == j.end() || !dt->is_string()) fail(path, "tensor '" + name + "': missing dtype");
  auto dtype = dtype_from_name(dt->get<std::string>());
  if (!dtype) fail(path, "tensor '" + name + "': unknown dtype '" + dt->get<std::string>() + "'");
  e.dtype = *dtype;

  auto sh = j.find("shape");
  if (sh == j.end() || !sh->is_array()) fail(path, "tensor '" + name + "': missing shape");
  uint64_t numel = 1;
  for (const auto& d : *sh) {
    if (!d.is_number_unsigned()) {
      fail(path, "tensor '" + name + "': shape has a non-integer or negative dimension");
    }
    auto v = d.get<uint64_t>();
    if (v != 0 && numel > std::numeric_limits<uint64_t>::max() / v) {
      fail(path, "tensor '" + name + "': shape overflows");
    }
    numel *= v;
    e.shape.push_back(static_cast<int64_t>(v));
  }

  auto off = j.find("data_offsets");
  if (off == j.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned()) {
    fail(path, "tensor '" + name + "': data_offsets must be two non-negative integers");
  }
  e.begin = (*off)[0].get<uint64_t>();
  e.end = (*off)[1].get<uint64_t>();
  if (e.end < e.begin) fail(path, "tensor '" + name + "': data_offsets end before they begin");
  uint64_t expected = numel * dtype_size(e.dtype);
  if (e.end - e.begin != expected) {
    fail(path, "tensor '" + name + "': shape " + shape_str(e.shape) + " x " +
                   std::string(dtype_name(e.dtype)) + " needs " + std::to_string(expected) +
                   " bytes but data_offsets span " + std::to_string(e.end - e.begin));
  }
  return e;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(path) {
  const uint64_t size = file_.size();
  if (size < 8) fail(path, "file is " + std::to_string(size) + " bytes, too short for a header");
  uint64_t header_len = 0;
  std::memcpy(&header_len, file_.data(), 8);  // little-endian hosts only (x86-64, aarch64)
  if (header_len > kMaxHeaderBytes) {
    fail(path, "header length " + std::to_string(header_len) + " exceeds the 100 MB limit");
  }
  if (8 + header_len > size) {
    fail(path, "header length " + std::to_string(header_len) + " runs past the end of the " +
                   std::to_string(size) + "-byte file");
  }
  std::string_view header(reinterpret_cast<const char*>(file_.data() + 8), header_len);
  Json j;
  try {
    j = Json::parse(header.begin(), header.end());
  } catch (const nlohmann::json::parse_error& e) {
    fail(path, "malformed JSON header at byte " + std::to_string(8 + e.byte - 1) + " of the file");
  }
  if (!j.is_object()) fail(path, "header is not a JSON object");

  data_start_ = file_.data() + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) fail(path, "__metadata__ is not a JSON object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) fail(path, "__metadata__ value for '" + m.key() + "' is not a string");
        metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    SafetensorsEntry e = parse_entry(path, it.key(), *it);
    if (e.end > data_size) {
      fail(path, "tensor '" + it.key() + "': data_offsets [" + std::to_string(e.begin) + ", " +
                     std::to_string(e.end) + ") run past the " + std::to_string(data_size) +
                     "-byte data area");
    }
    entries_.emplace(it.key(), std::move(e));
  }

  // No two tensors may share bytes.
  std::vector<std::pair<const std::string*, const SafetensorsEntry*>> sorted;
  for (const auto& [name, e] : entries_) {
    if (e.end > e.begin) sorted.emplace_back(&name, &e);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.second->begin < b.second->begin; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].second->begin < sorted[i - 1].second->end) {
      fail(path, "tensors '" + *sorted[i - 1].first + "' and '" + *sorted[i].first +
                     "' overlap in the data area");
    }
  }

  // Metadata entries that name a stored tensor are aliases (transformers' shared weights).
  for (const auto& [key, value] : metadata_) {
    if (entries_.count(key) == 0 && entries_.count(value) != 0) aliases_[key] = value;
  }
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

bool SafetensorsFile::contains(const std::string& name) const {
  return entries_.count(name) != 0 || aliases_.count(name) != 0;
}

const std::string& SafetensorsFile::resolve(const std::string& name) const {
  auto a = aliases_.find(name);
  return a == aliases_.end() ? name : a->second;
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(resolve(name));
  if (it == entries_.end()) {
    throw InvalidInput("safetensors", path() + ": no tensor named '" + name + "'");
  }
  return it->second;
}

TensorView SafetensorsFile::get(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  return {data_start_ + e.begin, e.dtype, e.shape};
}

void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata, uint64_t data_alignment) {
  if (data_alignment == 0) {
    throw InvalidInput("safetensors", path + ": data alignment must be positive");
  }
  // nlohmann::json objects keep keys sorted, matching mlx's header; data follows in key order.
  std::vector<const NamedTensor*> order;
  order.reserve(tensors.size());
  for (const auto& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const NamedTensor* a, const NamedTensor* b) { return a->name < b->name; });

  Json header = Json::object();
  header["__metadata__"] = Json::object();
  for (const auto& [k, v] : metadata) header["__metadata__"][k] = v;
  uint64_t offset = 0;
  for (const NamedTensor* t : order) {
    if (t->name == "__metadata__") throw InvalidInput("safetensors", "reserved tensor name");
    if (header.contains(t->name)) {
      throw InvalidInput("safetensors", path + ": duplicate tensor name '" + t->name + "'");
    }
    uint64_t bytes = t->view.nbytes();
    header[t->name] = {{"dtype", std::string(dtype_name(t->view.dtype()))},
                       {"shape", t->view.shape()},
                       {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((data_alignment - (8 + text.size()) % data_alignment) % data_alignment, ' ');
  uint64_t len = text.size();

  AtomicFileWriter out(path);
  out.write(&len, 8);
  out.write(text);
  for (const NamedTensor* t : order) out.write(t->view.data(), t->view.nbytes());
  out.commit();
}

}  // namespace mlxlm
