#include "nn/scratch.h"

#include <array>

#include "base/aligned_vector.h"

namespace mlxlm {

float* scratch(ScratchSlot slot, int64_t n) {
  thread_local std::array<AlignedVector<float>, static_cast<size_t>(ScratchSlot::Count)> buffers;
  AlignedVector<float>& b = buffers[static_cast<size_t>(slot)];
  if (static_cast<int64_t>(b.size()) < n) b.resize(static_cast<size_t>(n));
  return b.data();
}

}  // namespace mlxlm
