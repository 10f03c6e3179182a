#include "mlxlm/prefill.h"

#include <algorithm>

#include "base/error.h"
#include "base/timer.h"
#include "models/model.h"

namespace mlxlm {

PrefillStats prefill(const Model& model, std::span<const int32_t> tokens, PromptCache& cache,
                     const PrefillOptions& options, const PromptProgress& progress) {
  if (tokens.empty()) throw InvalidInput("generate", "the prompt is empty: nothing to prefill");
  if (options.prefill_step_size <= 0) {
    throw InvalidInput("generate", "prefill_step_size must be positive");
  }
  const auto total = static_cast<int64_t>(tokens.size());
  Timer timer;
  if (progress) progress(0, total);
  int64_t done = 0;
  while (done < total) {
    const int64_t n = std::min<int64_t>(options.prefill_step_size, total - done);
    // Only the cache matters; the logits of the chunk's last position are the cheapest output.
    model.forward(tokens.subspan(done, n), 1, cache, /*last_only=*/true);
    maybe_quantize_kv_cache(cache, options.kv_bits, options.kv_group_size,
                            options.quantized_kv_start);
    done += n;
    if (progress) progress(done, total);
  }
  PrefillStats s;
  s.tokens = total;
  s.seconds = timer.seconds();
  s.tokens_per_second = s.seconds > 0 ? static_cast<double>(total) / s.seconds : 0;
  return s;
}

}  // namespace mlxlm
