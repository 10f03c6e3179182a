#pragma once
// The one small cache interface of mlx-lm (spec section 3). Keys and values are f32 tensors laid
// out [B, n_kv_heads, T, head_dim]; state() and set_state() exchange exactly what mlx-lm's
// `state` property holds, so prompt-cache files map onto it one to one.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace mlxlm {

// Keys and values a cache holds after an update, borrowed from the cache's buffers.
// Row b, head h, token j of the keys is at keys[b * k_batch_stride + h * k_head_stride + j *
// k_dim].
struct KVBlock {
  const float* keys = nullptr;
  const float* values = nullptr;
  int64_t batch = 0;
  int64_t heads = 0;
  int64_t length = 0;  // tokens visible in this block
  int64_t k_dim = 0;
  int64_t v_dim = 0;
  int64_t k_head_stride = 0;
  int64_t v_head_stride = 0;
  int64_t k_batch_stride = 0;
  int64_t v_batch_stride = 0;
};

class Cache {
 public:
  virtual ~Cache() = default;

  // The mlx-lm Python class name ("KVCache", "RotatingKVCache", ...), used in cache files.
  virtual std::string class_name() const = 0;
  // Tokens processed so far (the RoPE position of the next token).
  virtual int64_t offset() const = 0;
  virtual bool is_trimmable() const = 0;
  // Drops up to n of the most recent tokens; returns how many were dropped.
  virtual int64_t trim(int64_t n) = 0;
  // Tokens actually held (a rotating cache holds at most its max size).
  virtual int64_t size() const = 0;
  bool empty() const { return size() == 0; }
  // Bytes of cached data.
  virtual size_t nbytes() const = 0;

  virtual std::vector<Tensor> state() const = 0;
  virtual void set_state(std::vector<Tensor> state) = 0;
  virtual std::vector<std::string> meta_state() const { return {}; }
  virtual void set_meta_state(const std::vector<std::string>& meta) { (void)meta; }

  // An independent deep copy.
  virtual std::unique_ptr<Cache> copy() const = 0;
};

// A cache of attention keys and values.
class AttentionCache : public Cache {
 public:
  // Appends keys/values [B, H, S, D] and returns everything attention should see.
  virtual KVBlock update_and_fetch(const Tensor& keys, const Tensor& values) = 0;
};

using PromptCache = std::vector<std::unique_ptr<Cache>>;

// True when every layer can be trimmed (spec 3.4).
bool can_trim_prompt_cache(const PromptCache& cache);
// Trims every layer by n; returns the first layer's count, or 0 when not all are trimmable.
int64_t trim_prompt_cache(PromptCache& cache, int64_t n);
// Deep copy of every layer.
PromptCache copy_prompt_cache(const PromptCache& cache);
size_t prompt_cache_nbytes(const PromptCache& cache);

}  // namespace mlxlm
