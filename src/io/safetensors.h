#pragma once
// Safetensors files: a little-endian u64 header length, a JSON header, then raw tensor bytes.
// The reader validates the whole header before handing out any view; the writer produces the
// layout mlx writes (compact JSON, sorted keys, no padding) atomically.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/mapped_file.h"
#include "tensor/tensor.h"

namespace mlxlm {

struct SafetensorsEntry {
  DType dtype = DType::F32;
  Shape shape;
  uint64_t begin = 0;  // relative to the data area
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`; throws InvalidInput naming the file and the problem.
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return file_.path(); }
  // All values of "__metadata__" (strings).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Tensor names stored in the file, sorted; aliases are not included.
  std::vector<std::string> names() const;
  // Alias name -> stored tensor name, from "__metadata__" entries naming a stored tensor.
  const std::map<std::string, std::string>& aliases() const { return aliases_; }

  bool contains(const std::string& name) const;
  const SafetensorsEntry& entry(const std::string& name) const;
  // A view of the tensor `name` (or of the tensor an alias points to) inside the mapping. It may
  // be misaligned for its dtype (mlx writes the header unpadded): read it bytewise, or go
  // through WeightStore, which hands out aligned views.
  TensorView get(const std::string& name) const;

 private:
  const std::string& resolve(const std::string& name) const;

  MappedFile file_;
  const uint8_t* data_start_ = nullptr;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, std::string> aliases_;
};

struct NamedTensor {
  std::string name;
  TensorView view;
};

// Writes tensors and string metadata to `path` atomically (temporary file, then rename).
// "__metadata__" is always written, possibly empty, as mlx does. Spaces after the header's JSON,
// which the format allows, start the data at a multiple of `data_alignment` bytes; 1 writes
// exactly mlx's bytes (an unpadded header).
void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata,
                      uint64_t data_alignment = 1);

// The alignment of model weight files: a tensor whose predecessors' sizes are multiples of 64
// bytes (the usual weight) then starts on a cache line, and a SIMD load at a multiple of its
// width into the tensor does not straddle two. In mlx's files a tensor can start anywhere.
inline constexpr uint64_t kWeightFileAlignment = 64;

}  // namespace mlxlm
