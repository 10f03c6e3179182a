#include <algorithm>

#include "base/error.h"
#include "cache/cache.h"

namespace mlxlm {

KVBlock float_block(const Tensor& keys, const Tensor& values, int64_t length) {
  KVBlock b;
  MLXLM_CHECK(
      keys.dtype() == values.dtype() &&
          (keys.dtype() == DType::F32 || keys.dtype() == DType::F16 || keys.dtype() == DType::BF16),
      "cache", "keys ", dtype_name(keys.dtype()), " and values ", dtype_name(values.dtype()),
      " must share one float dtype");
  b.keys = keys.data();
  b.values = values.data();
  b.dtype = keys.dtype();
  b.batch = keys.dim(0);
  b.heads = keys.dim(1);
  b.length = length;
  b.k_dim = keys.dim(3);
  b.v_dim = values.dim(3);
  b.k_head_stride = keys.dim(2) * b.k_dim;
  b.v_head_stride = values.dim(2) * b.v_dim;
  b.k_batch_stride = b.heads * b.k_head_stride;
  b.v_batch_stride = b.heads * b.v_head_stride;
  return b;
}

void Cache::set_meta_state(const MetaTree& meta) {
  if (!meta.is_leaf || !meta.value.empty()) {
    throw InvalidInput("cache", class_name() + " has no meta state, but the file gives one");
  }
}

void Cache::not_batchable(const char* op) const {
  throw InvalidInput("cache", class_name() + " does not support batching (" + op + ")");
}
void Cache::filter(const std::vector<int64_t>&) { not_batchable("filter"); }
void Cache::extend(Cache&) { not_batchable("extend"); }
std::unique_ptr<Cache> Cache::extract(int64_t) const { not_batchable("extract"); }
void Cache::prepare(const BatchPrepare&) { not_batchable("prepare"); }
void Cache::finalize() { not_batchable("finalize"); }

bool can_trim_prompt_cache(const PromptCache& cache) {
  for (const auto& c : cache) {
    if (!c->is_trimmable()) return false;
  }
  return true;
}

int64_t trim_prompt_cache(PromptCache& cache, int64_t n) {
  if (cache.empty() || !can_trim_prompt_cache(cache)) return 0;
  int64_t first = 0;
  for (size_t i = 0; i < cache.size(); ++i) {
    int64_t t = cache[i]->trim(n);
    if (i == 0) first = t;
  }
  return first;
}

PromptCache copy_prompt_cache(const PromptCache& cache) {
  PromptCache out;
  out.reserve(cache.size());
  for (const auto& c : cache) out.push_back(c->copy());
  return out;
}

size_t prompt_cache_nbytes(const PromptCache& cache) {
  size_t n = 0;
  for (const auto& c : cache) n += c->nbytes();
  return n;
}

int64_t prompt_cache_length(const PromptCache& cache) {
  int64_t n = 0;
  for (const auto& c : cache) n = std::max(n, c->offset());
  return n;
}

void maybe_quantize_kv_cache(PromptCache& cache, int kv_bits, int kv_group_size,
                             int64_t quantized_kv_start) {
  if (kv_bits <= 0) return;
  for (auto& c : cache) {
    if (c->offset() < quantized_kv_start) continue;
    if (auto q = c->to_quantized(kv_group_size, kv_bits)) c = std::move(q);
  }
}

}  // namespace mlxlm
