#include "base/memory.h"

#include <cstdio>
#include <cstring>

namespace mlxlm {
namespace {
// The value of `key` in a /proc file of "Key: value kB" lines, in bytes; 0 when absent.
uint64_t read_proc_kb(const char* path, const char* key) {
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kb = 0;
  size_t key_len = std::strlen(key);
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, key, key_len) == 0) {
      std::sscanf(line + key_len, " %lu", &kb);
      break;
    }
  }
  std::fclose(f);
  return kb * 1024;
}
}  // namespace

uint64_t peak_memory_bytes() { return read_proc_kb("/proc/self/status", "VmHWM:"); }
uint64_t current_memory_bytes() { return read_proc_kb("/proc/self/status", "VmRSS:"); }
uint64_t available_memory_bytes() { return read_proc_kb("/proc/meminfo", "MemAvailable:"); }

}  // namespace mlxlm
