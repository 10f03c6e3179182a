#pragma once
// The model contract: arguments from config.json, weights sanitised at load, a forward pass over
// a token batch that updates the caller's per-layer caches, and the caches the model wants.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cache/cache.h"
#include "kernels/weight.h"
#include "tensor/tensor.h"

namespace mlxlm {

struct ModelInfo {
  std::string model_type;
  int64_t num_layers = 0;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  DType dtype = DType::F32;  // storage dtype of the float weights (and of saved KV caches)
  // Bytes of keys and values one token adds to the caches (all layers), as decoding reads them.
  int64_t kv_bytes_per_token = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelInfo& info() const = 0;

  // tokens [batch, length] row-major. Returns f32 logits [batch, length, vocab], or
  // [batch, 1, vocab] for the last position only when `last_only`. Appends to every layer
  // of `cache`. Safe to call concurrently with different caches.
  virtual Tensor forward(std::span<const int32_t> tokens, int64_t batch, PromptCache& cache,
                         bool last_only) const = 0;

  // One fresh cache per layer.
  virtual PromptCache make_cache() const = 0;

  // The weight matrices one decoding step reads, in the order it reads them (the head last):
  // what a benchmark's bandwidth floor is made of. The norms and the token's embedding row
  // (under 0.1 % of the bytes) are left out.
  virtual std::vector<kernels::WeightRef> step_weights() const = 0;
};

}  // namespace mlxlm
