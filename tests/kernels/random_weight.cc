#include "random_weight.h"

#include <cstring>

#include "tensor/tensor.h"

namespace mlxlm::testing {
namespace {

// Converted where the values' type is aligned, then copied `misalign` bytes in.
void put_floats(const std::vector<float>& v, DType dt, int misalign, std::vector<uint8_t>& out) {
  const size_t bytes = v.size() * dtype_size(dt);
  std::vector<float> aligned((bytes + 3) / 4);
  convert_from_f32(v.data(), static_cast<int64_t>(v.size()), dt, aligned.data());
  out.assign(bytes + misalign + 8, 0);
  std::memcpy(out.data() + misalign, aligned.data(), bytes);
}

}  // namespace

std::vector<float> random_floats(int64_t n, unsigned seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

RandomWeight make_random_weight(const WeightSpec& s) {
  using kernels::WeightFormat;
  RandomWeight w;
  std::mt19937 rng(s.seed);
  kernels::WeightRef& r = w.ref;
  r.format = s.format;
  r.rows = s.rows;
  r.cols = s.cols;
  switch (s.format) {
    case WeightFormat::F32:
    case WeightFormat::F16:
    case WeightFormat::BF16: {
      DType dt = s.format == WeightFormat::F32   ? DType::F32
                 : s.format == WeightFormat::F16 ? DType::F16
                                                 : DType::BF16;
      put_floats(random_floats(s.rows * s.cols, s.seed, 0.5f), dt, s.misalign, w.data);
      break;
    }
    case WeightFormat::Affine:
    case WeightFormat::MxFp4: {
      const int bits = s.format == WeightFormat::MxFp4 ? 4 : s.bits;
      const int group = s.format == WeightFormat::MxFp4 ? 32 : s.group_size;
      const int64_t bytes = s.rows * s.cols * bits / 8;
      w.data.assign(bytes + s.misalign + 8, 0);
      for (int64_t i = 0; i < bytes; ++i) w.data[s.misalign + i] = static_cast<uint8_t>(rng());
      const int64_t groups = s.rows * (s.cols / group);
      r.bits = bits;
      r.group_size = group;
      if (s.format == WeightFormat::MxFp4) {
        r.scale_dtype = DType::U8;
        w.scales.assign(groups + s.misalign + 8, 0);
        std::uniform_int_distribution<int> e(120, 130);
        for (int64_t g = 0; g < groups; ++g)
          w.scales[s.misalign + g] = static_cast<uint8_t>(e(rng));
      } else {
        r.scale_dtype = s.scale_dtype;
        // Scales of both signs, as mlx's quantizer produces.
        auto sc = random_floats(groups, s.seed + 1, 0.05f);
        auto bi = random_floats(groups, s.seed + 2, 0.3f);
        put_floats(sc, s.scale_dtype, s.misalign, w.scales);
        put_floats(bi, s.scale_dtype, s.misalign, w.biases);
        r.biases = w.biases.data() + s.misalign;
      }
      r.scales = w.scales.data() + s.misalign;
      break;
    }
  }
  r.data = w.data.data() + s.misalign;
  return w;
}

}  // namespace mlxlm::testing
