#pragma once
// The one small cache interface of mlx-lm (spec section 3). Keys and values are float tensors
// (F32, or the BF16/F16 of a half-precision model, as in mlx-lm) laid out [B, n_kv_heads, T,
// head_dim]; state() and set_state() exchange exactly what mlx-lm's
// `state` property holds, so prompt-cache files map onto it one to one.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cache/attention_mask.h"
#include "cache/state_tree.h"
#include "tensor/tensor.h"

namespace mlxlm {

// Affine-quantized keys or values (mlx format, spec 4.4): per token, head_dim * bits / 32 code
// words and head_dim / group_size scales and biases.
struct QuantizedPlane {
  const uint32_t* codes = nullptr;
  const float* scales = nullptr;
  const float* biases = nullptr;
  int64_t codes_head_stride = 0;   // uint32 words between heads
  int64_t groups_head_stride = 0;  // scales between heads
  int64_t codes_batch_stride = 0;
  int64_t groups_batch_stride = 0;
};

// Keys and values a cache holds after an update, borrowed from the cache's buffers.
// Row b, head h, token j of the keys is at keys[b * k_batch_stride + h * k_head_stride + j *
// k_dim]. A quantized block (bits > 0) leaves keys/values null and fills qk/qv instead.
struct KVBlock {
  const void* keys = nullptr;  // `dtype` elements: F32, BF16 or F16
  const void* values = nullptr;
  DType dtype = DType::F32;
  int64_t batch = 0;
  int64_t heads = 0;
  int64_t length = 0;  // tokens visible in this block
  int64_t k_dim = 0;
  int64_t v_dim = 0;
  int64_t k_head_stride = 0;
  int64_t v_head_stride = 0;
  int64_t k_batch_stride = 0;
  int64_t v_batch_stride = 0;
  int bits = 0;
  int group_size = 0;
  QuantizedPlane qk, qv;
};

// A block over the first `length` tokens of float buffers [B, H, capacity, D].
KVBlock float_block(const Tensor& keys, const Tensor& values, int64_t length);

// Arguments of the batch caches' prepare() (spec 3.3); absent = not given.
struct BatchPrepare {
  std::optional<std::vector<int64_t>> left_padding;
  std::optional<std::vector<int64_t>> lengths;
  std::optional<std::vector<int64_t>> right_padding;
};

class Cache {
 public:
  virtual ~Cache() = default;

  // The mlx-lm Python class name ("KVCache", "RotatingKVCache", ...), used in cache files.
  virtual std::string class_name() const = 0;
  // Tokens processed so far (the RoPE position of the next token).
  virtual int64_t offset() const = 0;
  virtual bool is_trimmable() const { return false; }
  // Drops up to n of the most recent tokens; returns how many were dropped.
  virtual int64_t trim(int64_t n) {
    (void)n;
    return 0;
  }
  // Tokens actually held (a rotating cache holds at most its max size).
  virtual int64_t size() const = 0;
  // True before anything was stored (mlx-lm: keys is None).
  virtual bool empty() const = 0;
  // Bytes of cached data.
  virtual size_t nbytes() const = 0;

  virtual StateTree state() const = 0;
  // Replaces the state; validates its structure, dtypes and shapes (InvalidInput otherwise).
  virtual void set_state(StateTree state) = 0;
  virtual MetaTree meta_state() const { return MetaTree::str(""); }
  virtual void set_meta_state(const MetaTree& meta);
  // After set_state + set_meta_state (a loaded file): checks that they agree.
  virtual void validate() const {}

  // An independent deep copy.
  virtual std::unique_ptr<Cache> copy() const = 0;
  // A quantized replacement (mlx-lm's to_quantized), or null when this cache has none.
  virtual std::unique_ptr<Cache> to_quantized(int group_size, int bits) const {
    (void)group_size;
    (void)bits;
    return nullptr;
  }

  // Batch operations of the left-padded batch caches (spec 3.3). Caches that cannot take part
  // in batching throw InvalidInput.
  virtual void filter(const std::vector<int64_t>& indices);
  virtual void extend(Cache& other);
  virtual std::unique_ptr<Cache> extract(int64_t idx) const;
  virtual void prepare(const BatchPrepare& args);
  virtual void finalize();

 protected:
  [[noreturn]] void not_batchable(const char* op) const;
};

// A cache of attention keys and values.
class AttentionCache : public Cache {
 public:
  // Appends keys/values [B, H, S, D] and returns everything attention should see.
  virtual KVBlock update_and_fetch(const Tensor& keys, const Tensor& values) = 0;
  // The mask for the next n queries over the block update_and_fetch will return; `window` is a
  // sliding-window size (0 = none). Call before the update, as mlx-lm does.
  virtual AttentionMask make_mask(int64_t n, int64_t window = 0, bool return_array = false) const {
    return create_attention_mask(n, offset(), return_array, window);
  }
  // The RoPE position of the next token of each batch row.
  virtual std::vector<int64_t> row_offsets(int64_t batch) const {
    return std::vector<int64_t>(static_cast<size_t>(batch), offset());
  }
  // True when a pass fed as several shorter consecutive passes leaves this cache in the same
  // state and lets every query see the same keys: then a model may split long passes to bound
  // its activation memory. Not so for rotating caches, which keep a whole pass visible to its
  // own queries past their window.
  virtual bool splits_passes_exactly() const { return false; }
  // A pass of `tokens` tokens is about to arrive in slices: the next update sizes its buffers
  // for all of them, as one whole update would, instead of growing (and copying) once a slice.
  virtual void reserve(int64_t tokens) { (void)tokens; }
};

using PromptCache = std::vector<std::unique_ptr<Cache>>;

// True when every layer can be trimmed (spec 3.4).
bool can_trim_prompt_cache(const PromptCache& cache);
// Trims every layer by n; returns the first layer's count, or 0 when not all are trimmable.
int64_t trim_prompt_cache(PromptCache& cache, int64_t n);
// Deep copy of every layer.
PromptCache copy_prompt_cache(const PromptCache& cache);
// Bytes held by every layer together.
size_t prompt_cache_nbytes(const PromptCache& cache);
// Tokens processed: the largest layer offset (state-only layers such as ArraysCache count 0).
int64_t prompt_cache_length(const PromptCache& cache);

// mlx-lm's maybe_quantize_kv_cache (spec 2.1 item 6): every layer with a quantized form whose
// offset has reached `quantized_kv_start` is replaced by it. kv_bits 0 = off.
void maybe_quantize_kv_cache(PromptCache& cache, int kv_bits, int kv_group_size,
                             int64_t quantized_kv_start);

}  // namespace mlxlm
