#pragma once
// All weights of a model folder by name: single or sharded safetensors files, memory-mapped.
// Views stay valid as long as the store lives.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/safetensors.h"

namespace mlxlm {

// True for "model.safetensors" and "model-00001-of-00002.safetensors" style names.
bool is_weight_file_name(std::string_view name);

class WeightStore {
 public:
  WeightStore() = default;
  WeightStore(WeightStore&&) noexcept = default;
  WeightStore& operator=(WeightStore&&) noexcept = default;

  // Opens model*.safetensors in `dir` (model.safetensors or model-0000k-of-0000N.safetensors).
  // With model.safetensors.index.json present, every shard it names must exist and every tensor
  // it maps must be found in the shard it names.
  static WeightStore open_dir(const std::string& dir);
  // Opens a single file.
  static WeightStore open_file(const std::string& path);

  bool contains(const std::string& name) const { return views_.count(name) != 0; }
  // The tensor `name`; throws InvalidInput naming it when absent. Mapped data is never copied,
  // so it may be misaligned for its dtype: read it with memcpy or unaligned loads.
  TensorView get(const std::string& name) const;
  std::vector<std::string> names() const;
  size_t size() const { return views_.size(); }
  // Metadata of the first file ("format" and the like).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Sanitising: replace or add a tensor with owned data, rename, or drop one.
  void put(const std::string& name, Tensor tensor);
  void rename(const std::string& from, const std::string& to);
  void erase(const std::string& name);

  // Total bytes of all tensors.
  size_t nbytes() const;

 private:
  void add_file(std::unique_ptr<SafetensorsFile> file);

  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::shared_ptr<Tensor>> owned_;
  std::map<std::string, TensorView> views_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace mlxlm
