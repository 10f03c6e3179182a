#include "io/weight_store.h"

#include <algorithm>
#include <filesystem>

#include "base/error.h"
#include "base/mapped_file.h"
#include "io/json.h"

namespace fs = std::filesystem;

namespace mlxlm {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool is_weight_file_name(std::string_view name) {
  constexpr std::string_view prefix = "model", suffix = ".safetensors";
  if (name.size() < prefix.size() + suffix.size() || name.substr(0, prefix.size()) != prefix ||
      name.substr(name.size() - suffix.size()) != suffix) {
    return false;
  }
  std::string_view middle = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (middle.empty()) return true;  // model.safetensors
  // "-00001-of-00002"
  if (middle[0] != '-') return false;
  middle.remove_prefix(1);
  size_t of = middle.find("-of-");
  return of != std::string_view::npos && all_digits(middle.substr(0, of)) &&
         all_digits(middle.substr(of + 4));
}

WeightStore WeightStore::open_file(const std::string& path) {
  WeightStore store;
  store.add_file(std::make_unique<SafetensorsFile>(path));
  return store;
}

WeightStore WeightStore::open_dir(const std::string& dir) {
  if (!fs::is_directory(dir)) throw FileError("io", "model folder not found: " + dir);
  std::vector<std::string> shards;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (e.is_regular_file() && is_weight_file_name(name)) shards.push_back(e.path().string());
  }
  std::sort(shards.begin(), shards.end());
  if (shards.empty()) {
    throw FileError("io", dir + ": no model.safetensors or model-*-of-*.safetensors files");
  }

  WeightStore store;
  for (const auto& s : shards) store.add_file(std::make_unique<SafetensorsFile>(s));

  std::string index_path = dir + "/model.safetensors.index.json";
  if (fs::exists(index_path)) {
    Json index = read_json_file(index_path);
    auto wm = index.find("weight_map");
    if (wm == index.end() || !wm->is_object()) {
      throw InvalidInput("io", index_path + ": missing \"weight_map\" object");
    }
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it->is_string())
        throw InvalidInput("io", index_path + ": weight_map values must be strings");
      std::string shard = dir + "/" + it->get<std::string>();
      if (!fs::exists(shard)) {
        throw FileError("io", index_path + ": tensor '" + it.key() + "' maps to missing shard " +
                                  it->get<std::string>());
      }
      if (!store.contains(it.key())) {
        throw InvalidInput(
            "io", index_path + ": tensor '" + it.key() + "' is not in " + it->get<std::string>());
      }
    }
  }
  return store;
}

void WeightStore::add_file(std::unique_ptr<SafetensorsFile> file) {
  if (files_.empty()) metadata_ = file->metadata();
  auto add = [&](const std::string& name, const std::string& target) {
    if (views_.count(name) != 0) {
      throw InvalidInput("io",
                         file->path() + ": tensor '" + name + "' also appears in another shard");
    }
    // Views stay in the mapping even when misaligned for their dtype (mlx writes an unpadded
    // header): every reader of weight data (kernels, convert_to_f32) loads unaligned.
    views_[name] = file->get(target);
  };
  for (const auto& name : file->names()) add(name, name);
  for (const auto& [alias, target] : file->aliases()) {
    if (views_.count(alias) == 0) add(alias, target);
  }
  // Model construction converts the small tensors (norms, biases) right away; the large ones
  // are paged in by the first forward pass with the kernel's own readahead.
  constexpr size_t kSmallTensorBytes = 64 << 10;
  for (const auto& name : file->names()) {
    const TensorView& v = views_[name];
    if (v.nbytes() < kSmallTensorBytes) advise_will_need(v.data(), v.nbytes());
  }
  files_.push_back(std::move(file));
}

TensorView WeightStore::get(const std::string& name) const {
  auto it = views_.find(name);
  if (it == views_.end()) throw InvalidInput("io", "weights: missing tensor '" + name + "'");
  return it->second;
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  out.reserve(views_.size());
  for (const auto& [name, v] : views_) out.push_back(name);
  return out;
}

void WeightStore::put(const std::string& name, Tensor tensor) {
  auto owned = std::make_shared<Tensor>(std::move(tensor));
  views_[name] = owned->view();
  owned_[name] = std::move(owned);
}

void WeightStore::rename(const std::string& from, const std::string& to) {
  auto it = views_.find(from);
  if (it == views_.end()) throw InvalidInput("io", "weights: missing tensor '" + from + "'");
  views_[to] = it->second;
  views_.erase(from);
  auto o = owned_.find(from);
  if (o != owned_.end()) {
    owned_[to] = o->second;
    owned_.erase(o);
  }
}

void WeightStore::erase(const std::string& name) {
  views_.erase(name);
  owned_.erase(name);
}

size_t WeightStore::nbytes() const {
  size_t n = 0;
  for (const auto& [name, v] : views_) n += v.nbytes();
  return n;
}

}  // namespace mlxlm
