#include "cache/cache.h"

namespace mlxlm {

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

}  // namespace mlxlm
