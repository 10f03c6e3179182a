#pragma once
// Activations quantized to int8 for integer dot products with quantized weights: blocks of 32
// values with one f32 scale each (llama.cpp's Q8_0 idea). Within a block the values are stored
// in the order in which the weight format's cheapest SIMD unpacking yields its 32 codes, so the
// weight side never has to shuffle codes back into natural order.
#include <cstdint>
#include <vector>

#include "kernels/weight.h"

namespace mlxlm::kernels {

constexpr int64_t kActBlock = 32;

enum class CodeOrder : uint8_t {
  Natural,  // position p holds value p (8-bit codes, or codes unpacked one by one)
  // 4-bit codes: a block's 16 bytes yield its even values (low nibbles), then its odd values
  // (high nibbles). Blocks go in pairs, so that one 32-byte load unpacks two of them: a pair
  // stores the even values of both blocks, then the odd values of both (16 each); a last
  // unpaired block stores its even, then its odd values.
  Nibbles,
  Crumbs,  // 2-bit codes: bits 0-1 of 8 bytes, then bits 2-3, 4-5, 6-7
};

// The order the kernels unpack the codes of `w` in.
CodeOrder code_order(const WeightRef& w);
// Value index held at position p of a block in `order`.
int code_order_index(CodeOrder order, int p);
// Offset, within an activation row of `blocks` blocks, of code position p of block b.
int64_t act_offset(CodeOrder order, int64_t blocks, int64_t b, int p);

struct QuantizedActs {
  const int8_t* q = nullptr;         // [m, k], blocks permuted into the weight's code order
  const float* scale = nullptr;      // [m, k / 32]: value = scale * q
  const float* group_sum = nullptr;  // [m, k / group]: sum of the dequantized values per group
  // [m, 2 * k / group]: each group sum twice, matching the row-pair kernels' lanes (even lanes
  // one weight row, odd lanes the other), so that their bias term is plain FMAs.
  const float* group_sum_pairs = nullptr;
  int64_t m = 0;
  int64_t k = 0;
  int64_t group = 0;  // the weight's group size (a multiple of 32)
  // Unique to one quantize() call (0: unknown), so that a kernel can keep a layout it derived
  // from these activations for every task of one product instead of rebuilding it per task.
  uint64_t id = 0;
};

// Owns the buffers of one quantization; reused across calls to avoid reallocation.
class ActQuantizer {
 public:
  // x [m, k] with k a multiple of 32 and of `group`.
  QuantizedActs quantize(const float* x, int64_t m, int64_t k, CodeOrder order, int64_t group);

 private:
  std::vector<int8_t> q_;
  std::vector<float> scale_;
  std::vector<float> group_sum_;
  std::vector<float> group_sum_pairs_;
};

}  // namespace mlxlm::kernels
