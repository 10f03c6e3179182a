#pragma once
// A small seeded generator (xoshiro256**) owned by each sampler, so the same seed gives the same
// tokens on any thread and concurrent samplers never share state.
#include <cstdint>

namespace mlxlm {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0);
  // A generator seeded from std::random_device, for runs without --seed.
  static Rng from_entropy();

  uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits.
  double uniform();

 private:
  uint64_t s_[4];
};

}  // namespace mlxlm
