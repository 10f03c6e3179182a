// The AMX tile products against kernels/ref's bf16-rounding oracle, in every format the tile
// path takes. Skipped (and reported as skipped) on CPUs without AMX.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/amx/amx.h"
#include "kernels/matmul.h"
#include "kernels/ref/ref.h"
#include "random_weight.h"

namespace mlxlm {
namespace {

using kernels::WeightFormat;
using testing::WeightSpec;

// Each test runs on both engines of the path: AMX tiles, and AVX-512 VNNI with vdpbf16ps (on
// CPUs without AVX512_BF16 only the integer product; the other formats go to the Highway
// kernels there).
enum class Engine { Tiles, Vnni };

class AmxMatmul : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::Tiles && !kernels::amx::available()) {
      GTEST_SKIP() << "this CPU has no AMX-BF16";
    }
    if (GetParam() == Engine::Vnni && !kernels::amx::vnni_available()) {
      GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
    }
    kernels::amx::set_enabled(true);
    kernels::amx::set_prefer_vnni(GetParam() == Engine::Vnni);
  }
  void TearDown() override { kernels::amx::set_prefer_vnni(false); }
  // Whether bf16 products take this path (without tiles, they need vdpbf16ps).
  bool bf16() const { return GetParam() == Engine::Tiles || kernels::amx::dpbf16_available(); }
};

// sum_j |w_rj x_ij| per output, with both rounded to bf16 as the tiles see them.
std::vector<double> magnitudes(const std::vector<float>& x, int64_t m,
                               const kernels::WeightRef& w) {
  std::vector<double> out(m * w.rows);
  std::vector<float> row(w.cols);
  for (int64_t r = 0; r < w.rows; ++r) {
    kernels::dequantize_row(w, r, row.data());
    for (int64_t i = 0; i < m; ++i) {
      double s = 0;
      for (int64_t j = 0; j < w.cols; ++j) s += std::fabs(double{row[j]} * x[i * w.cols + j]);
      out[i * w.rows + r] = s;
    }
  }
  return out;
}

std::string describe(const WeightSpec& s, int64_t m) {
  return "format " + std::to_string(static_cast<int>(s.format)) + " bits " +
         std::to_string(s.bits) + " group " + std::to_string(s.group_size) + " rows " +
         std::to_string(s.rows) + " cols " + std::to_string(s.cols) + " m " + std::to_string(m);
}

// The tiles accumulate in f32: against the oracle (same rounded inputs, f64 sums) the error is
// f32 rounding, far below 1e-5 of the magnitude for these lengths, and a wrong tile, panel
// edge or column order is off by the magnitude itself. Against exact f32 arithmetic, rounding
// x and w to bf16 moves each product by at most 2^-8 of its size; rounding x to int8 (the
// integer tiles, affine 4/8-bit in groups of 64 or 128) by at most half a step of max|x| / 127.
void check(const WeightSpec& spec, int64_t m, bool with_bias) {
  const auto w = testing::make_random_weight(spec);
  const auto x = testing::random_floats(m * spec.cols, spec.seed + 7);
  const std::vector<float> bias = testing::random_floats(spec.rows, spec.seed + 9);
  const float* b = with_bias ? bias.data() : nullptr;
  std::vector<float> want(m * spec.rows), exact(m * spec.rows), y(m * spec.rows, NAN);
  const bool int8 = kernels::amx::supports_int8(w.ref);
  // Below its minimum rows an integer product takes the Highway kernels (blocks of 32).
  const bool tile_rows = m >= kernels::amx::int8_min_rows(w.ref);
  if (int8) {
    kernels::ref::matmul_int8_acts(x.data(), m, w.ref, b, want.data(),
                                   tile_rows ? kernels::amx::kInt8Block : 32);
  } else {
    kernels::ref::matmul_bf16(x.data(), m, w.ref, b, want.data());
  }
  kernels::ref::matmul(x.data(), m, w.ref, b, exact.data());
  kernels::matmul(x.data(), m, w.ref, b, y.data());
  const auto mag = magnitudes(x, m, w.ref);
  const std::string what = describe(spec, m) + (int8 ? " (int8 tiles)" : " (bf16 tiles)");
  const double exact_rel = int8 ? 1.0 / 127 : std::ldexp(1.0, -8);
  for (size_t i = 0; i < y.size(); ++i) {
    ASSERT_NEAR(y[i], want[i], (tile_rows ? 1e-5 : 2e-5) * mag[i] + 1e-6) << what << " at " << i;
    ASSERT_NEAR(y[i], exact[i], exact_rel * mag[i] + 1e-6) << what << " vs f32, at " << i;
  }
}

TEST_P(AmxMatmul, Bf16WeightsInPlaceAndCopied) {
  if (!bf16()) GTEST_SKIP() << "this CPU has no AVX512_BF16";
  for (int misalign : {0, 2}) {
    WeightSpec s;
    s.format = WeightFormat::BF16;
    s.misalign = misalign;
    s.rows = 64;  // whole panels: the tiles read the weight where it lies
    s.cols = 256;
    for (int64_t m : {8, 16, 17, 40}) check(s, m, m == 17);
    s.rows = 45;  // a panel of 13 rows, copied and padded
    s.cols = 75;  // a last step of 11 columns
    for (int64_t m : {9, 33}) check(s, m, m == 9);
    s.rows = 16;  // a single row tile
    s.cols = 96;
    check(s, 20, true);
  }
}

TEST_P(AmxMatmul, AffineEveryBitsAndGroup) {
  for (int bits : {2, 3, 4, 5, 6, 8}) {
    for (int group : {32, 64, 128}) {
      for (DType sd : {DType::F16, DType::BF16, DType::F32}) {
        WeightSpec s;
        s.format = WeightFormat::Affine;
        s.bits = bits;
        s.group_size = group;
        s.scale_dtype = sd;
        s.rows = 37;
        s.cols = 384;
        s.misalign = sd == DType::F32 ? 1 : 0;
        s.seed = static_cast<unsigned>(bits * 100 + group);
        const bool integer = (bits == 4 || bits == 8) && group != 32;
        if (bf16() || integer) check(s, 12, group == 64);
      }
    }
  }
}

// Every code at 255 (8-bit) or 15 (4-bit) against activations at +-max: the largest int32 sums
// the integer tiles produce.
TEST_P(AmxMatmul, ExtremeCodesAndActivations) {
  for (int bits : {4, 8}) {
    for (float sign : {1.0f, -1.0f}) {
      WeightSpec s;
      s.format = WeightFormat::Affine;
      s.bits = bits;
      s.group_size = 64;
      s.scale_dtype = DType::F32;
      s.rows = 20;
      s.cols = 512;
      auto w = testing::make_random_weight(s);
      std::fill(w.data.begin(), w.data.end(), uint8_t{0xFF});
      const int64_t m = kernels::amx::int8_min_rows(w.ref) + 1;  // the tiles, and a last row
      std::vector<float> x(m * s.cols, sign), want(m * s.rows), y(m * s.rows);
      kernels::ref::matmul_int8_acts(x.data(), m, w.ref, nullptr, want.data(), 64);
      kernels::matmul(x.data(), m, w.ref, nullptr, y.data());
      const auto mag = magnitudes(x, m, w.ref);
      for (size_t i = 0; i < y.size(); ++i) {
        ASSERT_NEAR(y[i], want[i], 1e-5 * mag[i] + 1e-6) << bits << "-bit at " << i;
      }
    }
  }
}

TEST_P(AmxMatmul, MxFp4) {
  if (!bf16()) GTEST_SKIP() << "this CPU has no AVX512_BF16";
  WeightSpec s;
  s.format = WeightFormat::MxFp4;
  s.rows = 50;
  s.cols = 160;
  s.misalign = 3;
  check(s, 19, true);
}

TEST_P(AmxMatmul, ManyPanelsAcrossThreads) {
  ThreadPool::set_num_threads(3);
  for (auto [f, bits] : {std::pair{WeightFormat::BF16, 16}, std::pair{WeightFormat::Affine, 4},
                         std::pair{WeightFormat::Affine, 8}}) {
    if (f == WeightFormat::BF16 && !bf16()) continue;
    WeightSpec s;
    s.format = f;
    s.bits = bits;
    s.group_size = 64;
    s.scale_dtype = DType::BF16;
    s.rows = 300;  // panels of 32 rows (8-bit codes used in place) and a last one of 12
    s.cols = 512;
    check(s, 70, true);
  }
  ThreadPool::set_num_threads(0);
}

// The rows a thread gets must not change a row's result, nor must the other weights of a group.
TEST_P(AmxMatmul, GroupEqualsSeparateProducts) {
  WeightSpec q, k;
  q.format = k.format = WeightFormat::Affine;
  q.bits = 4;
  k.bits = 8;
  q.group_size = k.group_size = 64;
  q.scale_dtype = k.scale_dtype = DType::BF16;
  q.cols = k.cols = 256;
  q.rows = 200;
  k.rows = 70;
  k.seed = 2;
  const auto wq = testing::make_random_weight(q), wk = testing::make_random_weight(k);
  const int64_t m = 24;
  const auto x = testing::random_floats(m * 256, 3);
  std::vector<float> gq(m * q.rows), gk(m * k.rows), sq(gq.size()), sk(gk.size());
  const kernels::MatmulOutput outs[] = {{&wq.ref, nullptr, gq.data()},
                                        {&wk.ref, nullptr, gk.data()}};
  kernels::matmul_group(x.data(), m, outs);
  kernels::matmul(x.data(), m, wq.ref, nullptr, sq.data());
  kernels::matmul(x.data(), m, wk.ref, nullptr, sk.data());
  EXPECT_EQ(gq, sq);
  EXPECT_EQ(gk, sk);
}

TEST_P(AmxMatmul, SwitchedOffUsesTheIntegerKernels) {
  WeightSpec s;
  s.format = WeightFormat::Affine;
  s.bits = 4;
  s.group_size = 64;
  s.scale_dtype = DType::BF16;
  s.rows = 32;
  s.cols = 256;
  const auto w = testing::make_random_weight(s);
  const int64_t m = 16;
  const auto x = testing::random_floats(m * s.cols, 5);
  std::vector<float> want(m * s.rows), y(m * s.rows);
  kernels::ref::matmul_int8_acts(x.data(), m, w.ref, nullptr, want.data());
  kernels::amx::set_enabled(false);
  kernels::matmul(x.data(), m, w.ref, nullptr, y.data());
  kernels::amx::set_enabled(true);
  const auto mag = magnitudes(x, m, w.ref);
  for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], 2e-5 * mag[i] + 1e-6) << i;
}

INSTANTIATE_TEST_SUITE_P(Engines, AmxMatmul, ::testing::Values(Engine::Tiles, Engine::Vnni),
                         [](const auto& info) {
                           return info.param == Engine::Tiles ? "Tiles" : "Vnni";
                         });

}  // namespace
}  // namespace mlxlm
