#pragma once
// Writes a model folder the way mlx-lm saves one: weights in shards of at most 5 GiB
// (model.safetensors, or model-0000k-of-0000N.safetensors), model.safetensors.index.json,
// config and tokenizer files. Everything goes into a temporary folder beside the target that is
// renamed into place by commit(), so readers never see a half-written model.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors.h"

namespace mlxlm {

constexpr uint64_t kMaxShardBytes = uint64_t{5} << 30;

class ModelFolderWriter {
 public:
  // Throws InvalidInput when `dir` already exists.
  explicit ModelFolderWriter(std::string dir);
  ~ModelFolderWriter();  // removes the temporary folder unless committed
  ModelFolderWriter(const ModelFolderWriter&) = delete;
  ModelFolderWriter& operator=(const ModelFolderWriter&) = delete;

  // Shards `tensors` (in name order) and writes them with `metadata`, plus the index.
  // `total_parameters` goes into the index (0: the element count of all tensors).
  void write_weights(const std::vector<NamedTensor>& tensors,
                     const std::map<std::string, std::string>& metadata,
                     uint64_t total_parameters = 0, uint64_t max_shard_bytes = kMaxShardBytes);
  template <class TensorPairs>
  void write_weights(const TensorPairs& owned, const std::map<std::string, std::string>& metadata) {
    std::vector<NamedTensor> named;
    for (const auto& [name, t] : owned) named.push_back({name, t.view()});
    write_weights(named, metadata);
  }
  void write_text(const std::string& name, const std::string& contents);
  // Copies tokenizer.json, tokenizer_config.json, special_tokens_map.json, tokenizer.model,
  // chat_template.jinja, generation_config.json (those that exist) from `src_dir`.
  void copy_tokenizer_files(const std::string& src_dir);
  void commit();

  const std::string& temp_dir() const { return tmp_; }

 private:
  std::string dir_;
  std::string tmp_;
  bool committed_ = false;
};

}  // namespace mlxlm
