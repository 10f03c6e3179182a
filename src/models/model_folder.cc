#include "models/model_folder.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "base/mapped_file.h"
#include "io/json.h"

namespace fs = std::filesystem;

namespace mlxlm {

ModelFolderWriter::ModelFolderWriter(std::string dir) : dir_(std::move(dir)) {
  while (!dir_.empty() && dir_.back() == '/') dir_.pop_back();
  if (dir_.empty()) throw InvalidInput("convert", "empty output folder name");
  if (fs::exists(dir_)) throw InvalidInput("convert", dir_ + " already exists");
  tmp_ = dir_ + ".partial-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp_, ec);
  fs::create_directories(tmp_, ec);
  if (ec) throw FileError("convert", "cannot create " + tmp_ + ": " + ec.message());
}

ModelFolderWriter::~ModelFolderWriter() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }
}

void ModelFolderWriter::write_weights(const std::vector<NamedTensor>& tensors,
                                      const std::map<std::string, std::string>& metadata,
                                      uint64_t total_parameters, uint64_t max_shard_bytes) {
  std::vector<const NamedTensor*> order;
  for (const auto& t : tensors) order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const NamedTensor* a, const NamedTensor* b) { return a->name < b->name; });
  std::vector<std::vector<NamedTensor>> shards(1);
  uint64_t shard_bytes = 0, total_bytes = 0, numel = 0;
  for (const NamedTensor* t : order) {
    const uint64_t bytes = t->view.nbytes();
    if (shard_bytes > 0 && shard_bytes + bytes > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(*t);
    shard_bytes += bytes;
    total_bytes += bytes;
    numel += static_cast<uint64_t>(t->view.numel());
  }
  Json weight_map = Json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    char name[64];
    if (shards.size() == 1) {
      std::snprintf(name, sizeof name, "model.safetensors");
    } else {
      std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    }
    save_safetensors(tmp_ + "/" + name, shards[i], metadata, kWeightFileAlignment);
    for (const auto& t : shards[i]) weight_map[t.name] = name;
  }
  Json index = {{"metadata",
                 {{"total_size", total_bytes},
                  {"total_parameters", total_parameters != 0 ? total_parameters : numel}}},
                {"weight_map", weight_map}};
  write_text("model.safetensors.index.json", index.dump(4) + "\n");
}

void ModelFolderWriter::write_text(const std::string& name, const std::string& contents) {
  write_file_atomic(tmp_ + "/" + name, contents);
}

void ModelFolderWriter::copy_tokenizer_files(const std::string& src_dir) {
  static const char* kFiles[] = {
      "tokenizer.json",      "tokenizer_config.json",  "special_tokens_map.json", "tokenizer.model",
      "chat_template.jinja", "generation_config.json", "added_tokens.json",       "vocab.json",
      "merges.txt"};
  if (!fs::is_directory(src_dir)) throw FileError("convert", "no such folder: " + src_dir);
  for (const char* f : kFiles) {
    const fs::path src = fs::path(src_dir) / f;
    if (fs::exists(src)) write_text(f, read_file(src.string()));
  }
}

void ModelFolderWriter::commit() {
  std::error_code ec;
  fs::rename(tmp_, dir_, ec);
  if (ec) throw FileError("convert", "cannot move " + tmp_ + " to " + dir_ + ": " + ec.message());
  committed_ = true;
}

}  // namespace mlxlm
