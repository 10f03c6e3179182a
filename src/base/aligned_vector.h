#pragma once
// std::vector whose storage starts on a 64-byte boundary (a cache line, an AVX-512 vector, an
// AMX tile row). Large malloc blocks start 16 bytes into a page, and a tile load whose rows
// straddle two cache lines runs about five times slower.
#include <cstddef>
#include <new>
#include <vector>

namespace mlxlm {

template <class T>
struct CacheAlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};

  CacheAlignedAllocator() = default;
  template <class U>
  CacheAlignedAllocator(const CacheAlignedAllocator<U>&) {}  // NOLINT(google-explicit-constructor)

  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t n) { ::operator delete(p, n * sizeof(T), kAlign); }

  template <class U>
  bool operator==(const CacheAlignedAllocator<U>&) const {
    return true;
  }
};

template <class T>
using AlignedVector = std::vector<T, CacheAlignedAllocator<T>>;

}  // namespace mlxlm
