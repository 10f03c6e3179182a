#include "quant/quantize.h"

#include <string>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"
#include "quant/affine.h"
#include "quant/mxfp4.h"
#include "quant/pack.h"

namespace mlxlm::quant {
namespace {

void check_params(const QuantParams& p) {
  if (p.mode == QuantMode::MxFp4) {
    if (p.bits != 4 || p.group_size != 32) {
      throw InvalidInput("quant", "mxfp4 needs bits 4 and group size 32, got bits " +
                                      std::to_string(p.bits) + " group " +
                                      std::to_string(p.group_size));
    }
    return;
  }
  if (p.bits < 2 || p.bits > 8 || p.bits == 7) {
    throw InvalidInput("quant",
                       "affine bits must be 2, 3, 4, 5, 6 or 8, got " + std::to_string(p.bits));
  }
  if (p.group_size != 32 && p.group_size != 64 && p.group_size != 128) {
    throw InvalidInput("quant",
                       "group size must be 32, 64 or 128, got " + std::to_string(p.group_size));
  }
}

}  // namespace

bool can_quantize(int64_t cols, const QuantParams& p) {
  return p.group_size > 0 && cols % p.group_size == 0;
}

QuantizedTensors quantize_matrix(const float* w, int64_t rows, int64_t cols, const QuantParams& p,
                                 DType scale_dtype) {
  check_params(p);
  if (!can_quantize(cols, p)) {
    throw InvalidInput("quant", std::to_string(cols) + " inputs are not a multiple of group size " +
                                    std::to_string(p.group_size));
  }
  const int64_t groups = cols / p.group_size;
  QuantizedTensors out;
  out.weight = Tensor(DType::U32, {rows, cols * p.bits / 32});
  auto* packed = out.weight.data<uint8_t>();
  const int64_t row_bytes = cols * p.bits / 8;
  auto& pool = ThreadPool::global();
  if (p.mode == QuantMode::MxFp4) {
    out.scales = Tensor(DType::U8, {rows, groups});
    auto* sc = out.scales.data<uint8_t>();
    pool.parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
      std::vector<uint8_t> codes(cols);
      for (int64_t r = r0; r < r1; ++r) {
        for (int64_t g = 0; g < groups; ++g) {
          sc[r * groups + g] = mxfp4_quantize_group(w + r * cols + g * 32, codes.data() + g * 32);
        }
        pack_codes(codes.data(), cols, 4, packed + r * row_bytes);
      }
    });
    return out;
  }
  if (scale_dtype != DType::F16 && scale_dtype != DType::BF16 && scale_dtype != DType::F32) {
    throw InvalidInput("quant", "scales must be F16, BF16 or F32");
  }
  std::vector<float> scales(rows * groups), biases(rows * groups);
  pool.parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    std::vector<uint8_t> codes(cols);
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t g = 0; g < groups; ++g) {
        AffineGroupParams gp = affine_quantize_group(w + r * cols + g * p.group_size, p.group_size,
                                                     p.bits, codes.data() + g * p.group_size);
        scales[r * groups + g] = gp.scale;
        biases[r * groups + g] = gp.bias;
      }
      pack_codes(codes.data(), cols, p.bits, packed + r * row_bytes);
    }
  });
  out.scales = Tensor(scale_dtype, {rows, groups});
  convert_from_f32(scales.data(), rows * groups, scale_dtype, out.scales.data());
  out.biases = Tensor(scale_dtype, {rows, groups});
  convert_from_f32(biases.data(), rows * groups, scale_dtype, out.biases->data());
  return out;
}

kernels::WeightRef quantized_ref(const QuantizedTensors& t, int64_t rows, int64_t cols,
                                 const QuantParams& p) {
  kernels::WeightRef w;
  w.format =
      p.mode == QuantMode::MxFp4 ? kernels::WeightFormat::MxFp4 : kernels::WeightFormat::Affine;
  w.data = t.weight.data();
  w.rows = rows;
  w.cols = cols;
  w.scales = t.scales.data();
  w.biases = t.biases ? t.biases->data() : nullptr;
  w.scale_dtype = t.scales.dtype();
  w.bits = p.bits;
  w.group_size = p.group_size;
  return w;
}

Tensor dequantize_matrix(const kernels::WeightRef& w) {
  Tensor out(DType::F32, {w.rows, w.cols});
  for (int64_t r = 0; r < w.rows; ++r)
    kernels::dequantize_row(w, r, out.data<float>() + r * w.cols);
  return out;
}

}  // namespace mlxlm::quant
