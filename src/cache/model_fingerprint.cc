#include "cache/model_fingerprint.h"

#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "base/mapped_file.h"
#include "cache/cache_list.h"
#include "io/json.h"

namespace mlxlm {
namespace {

std::string hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

uint64_t hash_file(const std::string& path, uint64_t h) {
  MappedFile f(path);
  return fnv1a64(f.data(), f.size(), h);
}

// (kv heads, head dim) of the keys an attention cache holds, or (0, 0) for other caches.
std::pair<int64_t, int64_t> kv_geometry(const Cache& c) {
  if (const auto* list = dynamic_cast<const CacheList*>(&c)) {
    for (size_t i = 0; i < list->count(); ++i) {
      auto g = kv_geometry((*list)[i]);
      if (g.first != 0) return g;
    }
    return {0, 0};
  }
  if (c.empty() || dynamic_cast<const AttentionCache*>(&c) == nullptr) return {0, 0};
  StateTree s = c.state();
  const StateTree& first = s.items.at(0);
  if (first.is_leaf) return {first.leaf.dim(1), first.leaf.dim(3)};
  // Quantized: (codes, scales, biases); the head dim is groups * group size, from the meta.
  const Tensor& scales = first.items.at(1).leaf;
  MetaTree meta = c.meta_state();
  const size_t gs_index = meta.items.size() == 3 ? 1 : 4;
  const int64_t gs = std::stoll(meta.items.at(gs_index).value);
  return {scales.dim(1), scales.dim(3) * gs};
}

}  // namespace

uint64_t fnv1a64(const void* data, size_t n, uint64_t h) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

void hash_model_files(ModelFingerprint& fp, const std::string& model_dir) {
  namespace fs = std::filesystem;
  fp.config_hash =
      hex(hash_file((fs::path(model_dir) / "config.json").string(), 0xcbf29ce484222325ull));
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                           "chat_template.jinja", "tokenizer.model"}) {
    const fs::path p = fs::path(model_dir) / name;
    if (!fs::exists(p)) continue;
    h = fnv1a64(name, std::char_traits<char>::length(name), h);
    h = hash_file(p.string(), h);
  }
  fp.tokenizer_hash = hex(h);
}

std::string fingerprint_json(const ModelFingerprint& fp) {
  Json j = {{"model_type", fp.model_type},
            {"num_layers", fp.num_layers},
            {"n_kv_heads", fp.n_kv_heads},
            {"head_dim", fp.head_dim},
            {"dtype", fp.dtype},
            {"config_hash", fp.config_hash},
            {"tokenizer_hash", fp.tokenizer_hash}};
  return j.dump();
}

ModelFingerprint parse_fingerprint(const std::string& text) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const nlohmann::json::exception&) {
    throw InvalidInput("cache", "the prompt cache's model fingerprint is not valid JSON");
  }
  const std::string what = "prompt cache model fingerprint";
  ModelFingerprint fp;
  try {
    fp.model_type = json_require<std::string>(j, "model_type", what);
    fp.num_layers = json_require<int64_t>(j, "num_layers", what);
    fp.n_kv_heads = json_require<int64_t>(j, "n_kv_heads", what);
    fp.head_dim = json_require<int64_t>(j, "head_dim", what);
    fp.dtype = json_require<std::string>(j, "dtype", what);
    fp.config_hash = json_require<std::string>(j, "config_hash", what);
    fp.tokenizer_hash = json_require<std::string>(j, "tokenizer_hash", what);
  } catch (const InvalidInput& e) {
    throw InvalidInput("cache", e.what());
  }
  return fp;
}

void check_cache_fits_model(std::span<const std::unique_ptr<Cache>> cache,
                            const std::map<std::string, std::string>& metadata,
                            const ModelFingerprint& model, const char* key,
                            const std::string& role) {
  auto refuse = [&](const std::string& why) {
    throw InvalidInput("cache", "the prompt cache does not fit the loaded " + role + ": " + why);
  };
  auto it = metadata.find(key);
  if (it != metadata.end()) {
    const ModelFingerprint f = parse_fingerprint(it->second);
    auto differ = [&](const std::string& field, const std::string& file, const std::string& now) {
      if (file != now)
        refuse(field + " is " + file + " in the cache file but " + now + " in the " + role);
    };
    differ("model_type", f.model_type, model.model_type);
    differ("the layer count", std::to_string(f.num_layers), std::to_string(model.num_layers));
    differ("the kv head count", std::to_string(f.n_kv_heads), std::to_string(model.n_kv_heads));
    differ("the head dim", std::to_string(f.head_dim), std::to_string(model.head_dim));
    differ("the dtype", f.dtype, model.dtype);
    if (f.config_hash != model.config_hash) {
      refuse("config.json differs from the one the cache was made with (hash " + f.config_hash +
             " vs " + model.config_hash + ")");
    }
    if (f.tokenizer_hash != model.tokenizer_hash) {
      refuse("the tokenizer files differ from those the cache was made with (hash " +
             f.tokenizer_hash + " vs " + model.tokenizer_hash + ")");
    }
  }
  // Also check what the tensors themselves say (the only check for mlx-lm's files).
  if (static_cast<int64_t>(cache.size()) != model.num_layers) {
    refuse("the cache has " + std::to_string(cache.size()) + " layers, the " + role + " " +
           std::to_string(model.num_layers));
  }
  for (size_t l = 0; l < cache.size(); ++l) {
    auto [heads, dim] = kv_geometry(*cache[l]);
    if (heads == 0) continue;
    if (heads != model.n_kv_heads || dim != model.head_dim) {
      refuse("layer " + std::to_string(l) + " holds " + std::to_string(heads) +
             " kv heads of dim " + std::to_string(dim) + ", the " + role + " has " +
             std::to_string(model.n_kv_heads) + " of dim " + std::to_string(model.head_dim));
    }
  }
}

}  // namespace mlxlm
