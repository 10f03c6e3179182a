#pragma once
// The tinystories-656k greedy goldens (../shared/golden/tinystories-656k/greedy.jsonl), one JSON
// object per prompt: prompt, prompt_ids, greedy_ids_64_ignoring_eos, top2_margins, ...
#include <vector>

#include "io/json.h"

namespace mlxlm::testing {

std::vector<Json> tinystories_goldens();

}  // namespace mlxlm::testing
