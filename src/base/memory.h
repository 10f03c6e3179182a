#pragma once
// Process memory statistics, as mlx-lm reports them (bytes; callers divide by 1e9 for GB).
#include <cstdint>

namespace mlxlm {

// Peak resident set size of this process so far (VmHWM), in bytes.
uint64_t peak_memory_bytes();
// Current resident set size (VmRSS), in bytes.
uint64_t current_memory_bytes();
// Memory the system can give without swapping (MemAvailable of /proc/meminfo), in bytes; 0 when
// unknown.
uint64_t available_memory_bytes();

}  // namespace mlxlm
