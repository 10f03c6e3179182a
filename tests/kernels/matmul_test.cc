// The matrix products on every SIMD target against kernels/ref, in every weight format.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "for_each_target.h"
#include "kernels/amx/amx.h"
#include "kernels/matmul.h"
#include "kernels/ref/ref.h"
#include "random_weight.h"

namespace mlxlm {
namespace {

using kernels::WeightFormat;
using testing::WeightSpec;

// |y - want| must stay below rel * sum_j |w_j x_j| (+ a tiny absolute floor).
void expect_close(const std::vector<float>& y, const std::vector<float>& want,
                  const std::vector<float>& magnitude, double rel, const std::string& what) {
  ASSERT_EQ(y.size(), want.size());
  for (size_t i = 0; i < y.size(); ++i) {
    const double tol = rel * magnitude[i] + 1e-6;
    ASSERT_NEAR(y[i], want[i], tol) << what << " at " << i;
  }
}

// sum_j |w_rj x_ij| per output, for scaling tolerances.
std::vector<float> magnitudes(const std::vector<float>& x, int64_t m, const kernels::WeightRef& w) {
  std::vector<float> out(m * w.rows), row(w.cols);
  for (int64_t r = 0; r < w.rows; ++r) {
    kernels::dequantize_row(w, r, row.data());
    for (int64_t i = 0; i < m; ++i) {
      double s = 0;
      for (int64_t j = 0; j < w.cols; ++j) s += std::fabs(double{row[j]} * x[i * w.cols + j]);
      out[i * w.rows + r] = static_cast<float>(s);
    }
  }
  return out;
}

// Switches the many-rows tile engines (amx.h) off for a scope, so that products of 8 or more
// activation rows take the Highway kernels.
struct TileEnginesOff {
  TileEnginesOff() { kernels::amx::set_enabled(false); }
  ~TileEnginesOff() { kernels::amx::set_enabled(true); }
  TileEnginesOff(const TileEnginesOff&) = delete;
  TileEnginesOff& operator=(const TileEnginesOff&) = delete;
};

void check(const WeightSpec& spec, int64_t m, bool with_bias) {
  auto w = testing::make_random_weight(spec);
  auto x = testing::random_floats(m * spec.cols, spec.seed + 7);
  std::vector<float> bias = testing::random_floats(spec.rows, spec.seed + 9);
  const float* b = with_bias ? bias.data() : nullptr;
  const bool quantized = spec.format == WeightFormat::Affine || spec.format == WeightFormat::MxFp4;
  std::vector<float> want(m * spec.rows);
  if (quantized) {
    kernels::ref::matmul_int8_acts(x.data(), m, w.ref, b, want.data());
  } else {
    kernels::ref::matmul(x.data(), m, w.ref, b, want.data());
  }
  const auto mag = magnitudes(x, m, w.ref);
  const std::string what = "format " + std::to_string(static_cast<int>(spec.format)) + " bits " +
                           std::to_string(spec.bits) + " group " + std::to_string(spec.group_size) +
                           " rows " + std::to_string(spec.rows) + " cols " +
                           std::to_string(spec.cols) + " m " + std::to_string(m);
  testing::for_each_simd_target([&] {
    std::vector<float> y(m * spec.rows, NAN);
    kernels::matmul(x.data(), m, w.ref, b, y.data());
    expect_close(y, want, mag, 2e-5, what);
    if (quantized) {
      // Against float activations the error is bounded by the int8 rounding of x:
      // |sum w (x - x~)| <= sum |w| |x| / 127 (half a step of at most max|x| / 127).
      std::vector<float> exact(m * spec.rows);
      kernels::ref::matmul(x.data(), m, w.ref, b, exact.data());
      std::vector<float> bound(mag.size());
      for (size_t i = 0; i < mag.size(); ++i) bound[i] = mag[i];
      expect_close(y, exact, bound, 0.1, what + " vs float activations");
    }
  });
}

TEST(Matmul, FloatFormatsEveryTarget) {
  for (auto f : {WeightFormat::F32, WeightFormat::F16, WeightFormat::BF16}) {
    for (int misalign : {0, 2}) {
      // 1-4 activation rows take one pass of m rows each (tiles of 4, 4, 3 and 2 weight rows,
      // 13 leaving a tail); 5 and more the prefill loop.
      for (int64_t m : {1, 2, 3, 4, 5}) {
        WeightSpec s;
        s.format = f;
        s.rows = 13;
        s.cols = 75;  // not a multiple of any vector width
        s.misalign = misalign;
        check(s, m, m == 2);
        s.rows = 8;
        s.cols = 256;
        check(s, m, false);
      }
    }
  }
}

// 64 or more activation rows take outer products over widened panels of 16 weight rows on AVX2
// (float_panel-inl.h): a partial panel (37 rows), column blocks of 256 with a tail that is not a
// multiple of 8 (300 columns), tiles of 6 activation rows with a remainder of 4 (70 rows), and
// two blocks of activation rows (250: 240 + 10). The tile engines are off, so that the Highway
// kernels take every product.
TEST(Matmul, FloatPanelsForLongPrompts) {
  const TileEnginesOff off;
  for (auto f : {WeightFormat::F32, WeightFormat::F16, WeightFormat::BF16}) {
    WeightSpec s;
    s.format = f;
    s.rows = 37;
    s.cols = 300;
    check(s, 70, true);
    s.misalign = 2;
    check(s, 64, false);
    s.misalign = 0;
    s.rows = 16;
    s.cols = 64;
    check(s, 250, true);
  }
}

TEST(Matmul, AffineEveryBitsGroupTarget) {
  for (int bits : {2, 3, 4, 5, 6, 8}) {
    for (int group : {32, 64, 128}) {
      for (DType sd : {DType::F16, DType::BF16, DType::F32}) {
        WeightSpec s;
        s.format = WeightFormat::Affine;
        s.bits = bits;
        s.group_size = group;
        s.scale_dtype = sd;
        s.rows = 11;
        s.cols = 256;
        s.misalign = sd == DType::F32 ? 1 : 0;
        s.seed = static_cast<unsigned>(bits * 100 + group);
        for (int64_t m : {1, 6}) check(s, m, m == 6);
        if (group == 32) {
          s.cols = 96;  // an odd number of 32-blocks: the paired-block loops need a tail
          check(s, 5, false);
        }
      }
    }
  }
}

// Rows of 1024 columns or more take the one-row-at-a-time kernels (single_rows-inl.h): on AVX-512
// VNNI 4 bits for fewer than 4 activation rows and 8 bits for any, on AVX2 4 and 8 bits for
// fewer than 4, all of them in one pass over the row: whole steps plus the tails they leave, with
// each scale type.
TEST(Matmul, LongRowsEveryGroup) {
  for (int bits : {4, 8}) {
    for (int group : {32, 64, 128}) {
      WeightSpec s;
      s.format = WeightFormat::Affine;
      s.bits = bits;
      s.group_size = group;
      s.scale_dtype = group == 64 ? DType::BF16 : group == 32 ? DType::F16 : DType::F32;
      s.rows = 9;
      s.cols = group == 128 ? 1152 : 1088;  // 36 or 34 blocks: steps of 8 (4) leave a tail
      s.seed = static_cast<unsigned>(bits * 1000 + group);
      for (int64_t m : {1, 2, 3, 6}) check(s, m, m == 3);
    }
  }
}

// Every code at its maximum and every activation at +-max drive the int16 sums of the integer
// kernels (maddubs lanes, their pairwise adds) to their bounds: a saturation shows as a wrong
// result against the exact reference.
TEST(Matmul, ExtremeCodesAndActivationsDoNotSaturate) {
  for (int bits : {2, 4, 8}) {
    for (int group : {32, 64}) {
      for (float sign : {1.0f, -1.0f}) {
        WeightSpec s;
        s.format = WeightFormat::Affine;
        s.bits = bits;
        s.group_size = group;
        s.scale_dtype = DType::F32;
        s.rows = 6;
        s.cols = 320;  // 10 blocks: paired loops, and 5 groups of 64 leave a scalar tail
        s.seed = static_cast<unsigned>(bits + group);
        auto w = testing::make_random_weight(s);
        std::fill(w.data.begin(), w.data.end(), uint8_t{0xFF});
        const int64_t m = bits == 2 ? 2 : 9;  // 4/8-bit: weight rows in lanes on AVX-512 VNNI
        std::vector<float> x(m * s.cols, sign);
        std::vector<float> want(m * s.rows);
        kernels::ref::matmul_int8_acts(x.data(), m, w.ref, nullptr, want.data());
        const auto mag = magnitudes(x, m, w.ref);
        testing::for_each_simd_target([&] {
          std::vector<float> y(m * s.rows, NAN);
          kernels::matmul(x.data(), m, w.ref, nullptr, y.data());
          expect_close(y, want, mag, 2e-5, "bits " + std::to_string(bits));
        });
      }
    }
  }
}

TEST(Matmul, MxFp4EveryTarget) {
  for (int64_t m : {1, 3, 9}) {
    WeightSpec s;
    s.format = WeightFormat::MxFp4;
    s.rows = 9;
    s.cols = m == 3 ? 160 : 192;  // 5 blocks: odd, exercises the unpaired tail
    s.misalign = m == 3 ? 3 : 0;
    check(s, m, m == 9);
  }
}

// With the tile engines off (amx.h), eight or more activation rows take eight-row tiles in every
// format (the row-pair kernels', or weight rows in lanes for 4 and 8 bits on AVX2 and VNNI): here
// one tile and a one-row remainder, over whole quads of blocks, then a block pair and an unpaired
// last block (224 columns), or quads only with a number of groups that leaves a tail in the bias
// term (384 columns, groups of 64).
TEST(Matmul, EightRowTilesEveryFormat) {
  const TileEnginesOff off;
  for (int bits : {2, 3, 4, 5, 6, 8, 0}) {  // 0: mxfp4
    for (int64_t cols : {224, 384}) {
      WeightSpec s;
      s.format = bits == 0 ? WeightFormat::MxFp4 : WeightFormat::Affine;
      s.bits = bits;
      s.group_size = cols == 224 ? 32 : 64;
      s.scale_dtype = DType::BF16;
      s.rows = 7;
      s.cols = cols;
      s.seed = static_cast<unsigned>(bits * 10 + cols);
      check(s, 9, cols == 384);
    }
  }
}

// 4- and 8-bit products of 4 or more activation rows hold each weight row in a lane of its own,
// 16 rows per tile on AVX-512 VNNI (row_lanes-inl.h) and 8 on AVX2 (row_lanes_avx2-inl.h): whole
// tiles and a partial one (37 rows; on AVX2 4-bit rows go two 8-row tiles at a time while 16 are
// left, row_lane_pairs_avx2-inl.h), tiles of 8 and 4 activation rows with remainders (the pairs
// take them 3, 2 and 1 rows at a time), two 8-row tiles sharing one pass on AVX2 (21 rows), and
// per-group scales of every type transposed 64 (VNNI) or 16 (AVX2) bytes at a time, including a
// last partial chunk (9, 17 or 34 groups) and more than one chunk.
TEST(Matmul, WeightRowsInLanes) {
  const TileEnginesOff off;
  struct Shape {
    int64_t cols;
    int group;
    DType scales;
  };
  for (const Shape& shape : {Shape{576, 64, DType::BF16}, Shape{1088, 32, DType::F16},
                             Shape{1088, 64, DType::BF16}, Shape{2048, 64, DType::F32}}) {
    for (int bits : {4, 8}) {
      WeightSpec s;
      s.format = WeightFormat::Affine;
      s.bits = bits;
      s.group_size = shape.group;
      s.scale_dtype = shape.scales;
      s.rows = 37;
      s.cols = shape.cols;
      s.seed = static_cast<unsigned>(shape.cols + shape.group + bits);
      for (int64_t m : {4, 13, 21}) check(s, m, m == 13);
    }
  }
}

TEST(Matmul, LargerShapesSplitAcrossThreads) {
  for (auto f : {WeightFormat::BF16, WeightFormat::Affine}) {
    WeightSpec s;
    s.format = f;
    s.bits = 4;
    s.group_size = 64;
    s.scale_dtype = DType::BF16;
    s.rows = 300;
    s.cols = 512;
    check(s, 1, false);
    check(s, 37, true);
  }
}

// A row's result must not depend on where the thread pool's ranges fall or on which tile of its
// product holds it. With m = 3, 5, 9, 13 and 21 the thread pool splits the 301 rows differently
// than with m = 1 (the row grain depends on m), so the ranges tile rows differently; m = 5, 9, 13
// and 21 take activation tiles of 4, 8, 8 + 4 and 16 + 4 rows with one-row remainders (the tile
// engines are off, so that the Highway kernels take every product). Products of fewer than 4
// activation rows and of 4 or more may take different kernels (weight rows in lanes on AVX-512 VNNI
// and AVX2; for 8 bits on AVX2 only from 8 rows), whose sums are ordered differently, so each group
// is compared within itself.
TEST(Matmul, RowResultsDoNotDependOnTiling) {
  const TileEnginesOff off;
  WeightSpec s;
  s.format = WeightFormat::Affine;
  s.rows = 301;
  s.cols = 512;
  s.group_size = 64;
  s.scale_dtype = DType::BF16;
  for (int bits : {4, 8}) {
    s.bits = bits;
    s.seed = static_cast<unsigned>(bits);
    const auto w = testing::make_random_weight(s);
    const std::vector<float> row = testing::random_floats(s.cols, 21);
    testing::for_each_simd_target([&] {
      auto copies = [&](int64_t m) {
        std::vector<float> x;
        for (int64_t i = 0; i < m; ++i) x.insert(x.end(), row.begin(), row.end());
        std::vector<float> y(m * s.rows);
        kernels::matmul(x.data(), m, w.ref, nullptr, y.data());
        return y;
      };
      auto first_row = [&](int64_t m) {
        const std::vector<float> y = copies(m);
        return std::vector<float>(y.begin(), y.begin() + s.rows);
      };
      const std::vector<float> single = copies(1);
      const std::vector<float> first_of_five = first_row(5);
      const std::vector<float> first_of_nine = first_row(9);
      for (int64_t m : {3, 5, 9, 13, 21}) {
        const std::vector<float> y = copies(m);
        // 8-bit products of 4-7 rows take the row pairs on AVX2, of 8 or more rows in lanes.
        const std::vector<float>& want = m < 4                 ? single
                                         : bits == 8 && m >= 8 ? first_of_nine
                                                               : first_of_five;
        for (int64_t i = 0; i < m; ++i) {
          const std::vector<float> copy(y.begin() + i * s.rows, y.begin() + (i + 1) * s.rows);
          ASSERT_EQ(copy, want) << bits << "-bit, m = " << m << ", activation row " << i;
        }
      }
    });
  }
}

// A grouped product (q/k/v, gate/up) gives every weight exactly what its own product gives, both
// when the weights share the prepared input and when they need separate ones (mixed formats).
TEST(Matmul, GroupEqualsSeparateProducts) {
  auto spec = [](WeightFormat f, int64_t rows, int bits, unsigned seed) {
    WeightSpec s;
    s.format = f;
    s.rows = rows;
    s.cols = 256;
    s.bits = bits;
    s.group_size = 64;
    s.scale_dtype = DType::BF16;
    s.seed = seed;
    return s;
  };
  const std::vector<std::vector<WeightSpec>> groups = {
      {spec(WeightFormat::Affine, 200, 4, 1), spec(WeightFormat::Affine, 64, 4, 2),
       spec(WeightFormat::Affine, 64, 4, 3)},
      {spec(WeightFormat::BF16, 96, 0, 4), spec(WeightFormat::F32, 33, 0, 5)},
      {spec(WeightFormat::Affine, 70, 4, 6), spec(WeightFormat::Affine, 70, 8, 7),
       spec(WeightFormat::BF16, 10, 0, 8)},
  };
  for (int64_t m : {1, 5}) {
    const std::vector<float> x = testing::random_floats(m * 256, 11);
    for (const auto& g : groups) {
      std::vector<testing::RandomWeight> ws;
      for (const auto& s : g) ws.push_back(testing::make_random_weight(s));
      const std::vector<float> bias = testing::random_floats(256, 12);
      std::vector<std::vector<float>> grouped(ws.size()), separate(ws.size());
      std::vector<kernels::MatmulOutput> outs;
      for (size_t i = 0; i < ws.size(); ++i) {
        grouped[i].assign(m * ws[i].ref.rows, 0.0f);
        separate[i].assign(m * ws[i].ref.rows, 0.0f);
        const float* b = i == 0 ? bias.data() : nullptr;
        outs.push_back({&ws[i].ref, b, grouped[i].data()});
        kernels::matmul(x.data(), m, ws[i].ref, b, separate[i].data());
      }
      kernels::matmul_group(x.data(), m, outs);
      for (size_t i = 0; i < ws.size(); ++i) EXPECT_EQ(grouped[i], separate[i]) << "weight " << i;
    }
  }
}

// Decoding splits the rows evenly, one task per thread (kernels/matmul.cc): every row of every
// weight is computed once, whatever the thread count and however the split falls across the
// weights of a group, and gives the bits a single thread gives.
TEST(Matmul, DecodingSplitCoversEveryRow) {
  std::vector<testing::RandomWeight> ws;
  for (int64_t rows : {333, 7, 1}) {
    WeightSpec s;
    s.format = WeightFormat::Affine;
    s.rows = rows;
    s.cols = 1024;
    s.bits = 4;
    s.group_size = 64;
    s.scale_dtype = DType::BF16;
    s.seed = static_cast<unsigned>(rows);
    ws.push_back(testing::make_random_weight(s));
  }
  for (int64_t m : {1, 3}) {
    const std::vector<float> x = testing::random_floats(m * 1024, 21);
    auto run = [&](int threads) {
      ThreadPool::set_num_threads(threads);
      std::vector<std::vector<float>> ys(ws.size());
      std::vector<kernels::MatmulOutput> outs;
      for (size_t i = 0; i < ws.size(); ++i) {
        ys[i].assign(m * ws[i].ref.rows, std::numeric_limits<float>::quiet_NaN());
        outs.push_back({&ws[i].ref, nullptr, ys[i].data()});
      }
      kernels::matmul_group(x.data(), m, outs);
      return ys;
    };
    const auto serial = run(1);
    for (const auto& y : serial) {
      for (float v : y) ASSERT_FALSE(std::isnan(v));
    }
    for (int threads : {2, 3}) EXPECT_EQ(run(threads), serial) << threads << " threads, m = " << m;
  }
  ThreadPool::set_num_threads(0);
}

// Random shapes and formats on every target: whatever tiles, tails, scale chunks and thread
// ranges a shape falls into, every output agrees with the reference. The tile engines are off in
// half of the cases, so that long products also reach the Highway kernels.
TEST(Matmul, RandomShapesEveryFormat) {
  std::mt19937 rng(2026);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int n = 0; n < 40; ++n) {
    WeightSpec s;
    const int kind = pick(0, 4);
    s.format = kind == 0   ? WeightFormat::BF16
               : kind == 1 ? WeightFormat::MxFp4
                           : WeightFormat::Affine;
    s.bits = std::array{2, 3, 4, 5, 6, 8, 4, 8}[pick(0, 7)];  // 4 and 8 have the most kernels
    s.group_size = s.format == WeightFormat::MxFp4 ? 32 : std::array{32, 64, 128}[pick(0, 2)];
    s.scale_dtype = std::array{DType::BF16, DType::F16, DType::F32}[pick(0, 2)];
    s.rows = pick(1, 70);
    s.cols = s.group_size * pick(1, 2048 / s.group_size);
    s.misalign = pick(0, 1);
    s.seed = static_cast<unsigned>(n + 1);
    const int64_t m = std::array{1, 2, 3, pick(4, 24), pick(25, 70)}[pick(0, 4)];
    std::optional<TileEnginesOff> off;
    if (pick(0, 1) == 0) off.emplace();
    ThreadPool::set_num_threads(pick(1, 3));
    check(s, m, pick(0, 1) == 0);
  }
  ThreadPool::set_num_threads(0);
}

}  // namespace
}  // namespace mlxlm
