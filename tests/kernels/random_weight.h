#pragma once
// Random weights in every storage format, with data placed at odd addresses on request (mlx
// writes safetensors without alignment padding, so kernels must cope).
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/weight.h"

namespace mlxlm::testing {

struct RandomWeight {
  std::vector<uint8_t> data, scales, biases;  // owning buffers
  kernels::WeightRef ref;
};

struct WeightSpec {
  kernels::WeightFormat format = kernels::WeightFormat::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  int bits = 0;
  int group_size = 0;
  DType scale_dtype = DType::F32;
  int misalign = 0;  // bytes added to every pointer
  unsigned seed = 1;
};

RandomWeight make_random_weight(const WeightSpec& spec);
std::vector<float> random_floats(int64_t n, unsigned seed, float scale = 1.0f);

}  // namespace mlxlm::testing
