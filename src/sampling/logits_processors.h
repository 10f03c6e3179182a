#pragma once
// make_logits_processors of mlx-lm (spec 5.2): logit bias -> repetition -> presence -> frequency,
// each looking at the last `context_size` tokens of the history (prompt included).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <vector>

namespace mlxlm {

// Adjusts one row of logits in place, given every token so far (prompt + generated).
using LogitsProcessor =
    std::function<void(std::span<const int32_t> tokens, std::span<float> logits)>;

struct LogitsProcessorOptions {
  std::map<int32_t, float> logit_bias;
  std::optional<float> repetition_penalty;  // none or 0 = off
  int repetition_context_size = 20;
  std::optional<float> presence_penalty;
  int presence_context_size = 20;
  std::optional<float> frequency_penalty;
  int frequency_context_size = 20;
};

std::vector<LogitsProcessor> make_logits_processors(const LogitsProcessorOptions& options);

}  // namespace mlxlm
