#include "nn/linear.h"

#include <algorithm>

#include "base/error.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace mlxlm {
namespace {

[[noreturn]] void bad(const std::string& name, const std::string& what) {
  throw InvalidInput("nn", name + ": " + what);
}

}  // namespace

kernels::WeightRef make_weight_ref(const LinearTensors& t, const std::string& name) {
  using kernels::WeightFormat;
  kernels::WeightRef w;
  const TensorView& wt = t.weight;
  if (wt.ndim() != 2) bad(name, "weight must be 2-D, got " + shape_str(wt.shape()));
  w.rows = wt.dim(0);
  w.data = wt.data();
  if (!t.scales) {
    switch (wt.dtype()) {
      case DType::F32:
        w.format = WeightFormat::F32;
        break;
      case DType::F16:
        w.format = WeightFormat::F16;
        break;
      case DType::BF16:
        w.format = WeightFormat::BF16;
        break;
      default:
        bad(name, "unsupported weight dtype " + std::string(dtype_name(wt.dtype())));
    }
    w.cols = wt.dim(1);
    return w;
  }
  if (wt.dtype() != DType::U32) bad(name, "quantized weight must be U32");
  const TensorView& sc = *t.scales;
  if (sc.ndim() != 2 || sc.dim(0) != w.rows) bad(name, "scales shape " + shape_str(sc.shape()));
  w.scales = sc.data();
  w.bits = t.quant.bits;
  w.group_size = t.quant.group_size;
  if (t.quant.mode == QuantMode::MxFp4) {
    w.format = WeightFormat::MxFp4;
    w.bits = 4;
    w.group_size = 32;
    w.scale_dtype = DType::U8;
    w.cols = wt.dim(1) * 8;
    if (sc.dtype() != DType::U8 || sc.dim(1) * 32 != w.cols) bad(name, "mxfp4 scales mismatch");
    return w;
  }
  w.format = WeightFormat::Affine;
  if (w.bits < 2 || w.bits > 8 || w.bits == 7)
    bad(name, "unsupported bit width " + std::to_string(w.bits));
  w.cols = wt.dim(1) * 32 / w.bits;
  if (w.group_size <= 0 || w.cols % w.group_size != 0 || sc.dim(1) != w.cols / w.group_size) {
    bad(name, "scales " + shape_str(sc.shape()) + " do not fit " + std::to_string(w.cols) +
                  " inputs in groups of " + std::to_string(w.group_size) + " at " +
                  std::to_string(w.bits) + " bits");
  }
  if (!t.biases || t.biases->shape() != sc.shape() || t.biases->dtype() != sc.dtype()) {
    bad(name, "affine quantization needs biases shaped like the scales");
  }
  w.biases = t.biases->data();
  w.scale_dtype = sc.dtype();
  if (!is_floating(w.scale_dtype) || w.scale_dtype == DType::F64)
    bad(name, "scales must be F32/F16/BF16");
  return w;
}

Linear::Linear(const LinearTensors& t, const std::string& name) : w_(make_weight_ref(t, name)) {
  if (t.bias) {
    if (t.bias->numel() != w_.rows)
      bad(name, "bias has " + std::to_string(t.bias->numel()) + " values");
    bias_.resize(w_.rows);
    convert_to_f32(t.bias->data(), t.bias->dtype(), w_.rows, bias_.data());
  }
}

void Linear::forward(const float* x, int64_t m, float* y) const {
  kernels::matmul(x, m, w_, bias(), y);
}

void forward_group(const float* x, int64_t m,
                   std::initializer_list<std::pair<const Linear*, float*>> outputs) {
  std::vector<kernels::MatmulOutput> outs;
  outs.reserve(outputs.size());
  for (const auto& [linear, y] : outputs) outs.push_back({&linear->weight(), linear->bias(), y});
  kernels::matmul_group(x, m, outs);
}

Embedding::Embedding(const LinearTensors& t, const std::string& name)
    : w_(make_weight_ref(t, name)), tensors_(t), name_(name) {
  tensors_.bias.reset();
}

void Embedding::lookup(const int32_t* ids, int64_t n, float* out) const {
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= w_.rows) {
      throw InvalidInput("nn", "token id " + std::to_string(ids[i]) +
                                   " is outside the vocabulary of " + std::to_string(w_.rows));
    }
    kernels::dequantize_row(w_, ids[i], out + i * w_.cols);
  }
}

Linear Embedding::as_linear() const { return Linear(tensors_, name_); }

RMSNorm::RMSNorm(const TensorView& weight, float eps) : weight_(weight.numel()), eps_(eps) {
  convert_to_f32(weight.data(), weight.dtype(), weight.numel(), weight_.data());
}

void RMSNorm::forward(const float* x, int64_t rows, float* y) const {
  kernels::rms_norm(x, weight_.data(), eps_, rows, dim(), y);
}

}  // namespace mlxlm
