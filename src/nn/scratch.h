#pragma once
// Per-thread activation buffers reused across forward passes. A 512-token prefill of a 1B model
// needs tens of MB of activations per layer; fresh vectors paid page faults and zeroing on every
// call (~5 % of prefill). Each call site owns a slot, so buffers that are live at the same time
// never alias. A buffer keeps its largest size until the thread exits.
#include <cstdint>

namespace mlxlm {

enum class ScratchSlot {
  Hidden,  // the model's residual stream
  BlockNormed,
  AttnQ,
  AttnK,
  AttnV,
  AttnOut,
  MlpGate,
  MlpUp,
  Count
};

// At least n floats, 64-byte aligned, contents unspecified.
float* scratch(ScratchSlot slot, int64_t n);

}  // namespace mlxlm
