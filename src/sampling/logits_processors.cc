#include "sampling/logits_processors.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "base/error.h"

namespace mlxlm {
namespace {

std::span<const int32_t> window(std::span<const int32_t> tokens, int size) {
  auto n = static_cast<size_t>(std::max(size, 0));
  return tokens.size() > n ? tokens.last(n) : tokens;
}

bool in_vocab(int32_t id, std::span<float> logits) {
  return id >= 0 && static_cast<size_t>(id) < logits.size();
}

}  // namespace

std::vector<LogitsProcessor> make_logits_processors(const LogitsProcessorOptions& o) {
  std::vector<LogitsProcessor> out;
  if (!o.logit_bias.empty()) {
    out.push_back([bias = o.logit_bias](std::span<const int32_t>, std::span<float> logits) {
      for (const auto& [id, value] : bias) {
        if (in_vocab(id, logits)) logits[id] += value;
      }
    });
  }
  if (o.repetition_penalty && *o.repetition_penalty != 0.0f) {
    float penalty = *o.repetition_penalty;
    if (penalty < 0.0f) throw InvalidInput("sampling", "repetition_penalty must be >= 0");
    out.push_back([penalty, size = o.repetition_context_size](std::span<const int32_t> tokens,
                                                              std::span<float> logits) {
      auto recent = window(tokens, size);
      std::set<int32_t> seen(recent.begin(), recent.end());
      for (int32_t id : seen) {
        if (!in_vocab(id, logits)) continue;
        logits[id] = logits[id] < 0 ? logits[id] * penalty : logits[id] / penalty;
      }
    });
  }
  if (o.presence_penalty && *o.presence_penalty != 0.0f) {
    out.push_back([penalty = *o.presence_penalty, size = o.presence_context_size](
                      std::span<const int32_t> tokens, std::span<float> logits) {
      auto recent = window(tokens, size);
      std::set<int32_t> seen(recent.begin(), recent.end());
      for (int32_t id : seen) {
        if (in_vocab(id, logits)) logits[id] -= penalty;
      }
    });
  }
  if (o.frequency_penalty && *o.frequency_penalty != 0.0f) {
    out.push_back([penalty = *o.frequency_penalty, size = o.frequency_context_size](
                      std::span<const int32_t> tokens, std::span<float> logits) {
      std::unordered_map<int32_t, int> counts;
      for (int32_t id : window(tokens, size)) ++counts[id];
      for (const auto& [id, count] : counts) {
        if (in_vocab(id, logits)) logits[id] -= penalty * static_cast<float>(count);
      }
    });
  }
  return out;
}

}  // namespace mlxlm
