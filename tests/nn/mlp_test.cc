// The gated MLP against down(silu(gate(x)) * up(x)) computed in double, on passes long enough to
// go through the MLP in several chunks of rows (and a short last one).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "nn/mlp.h"

namespace mlxlm {
namespace {

struct Matrix {
  int64_t rows, cols;
  std::vector<float> v;
  Linear linear(const char* name) const {
    LinearTensors t;
    t.weight = TensorView(v.data(), DType::F32, {rows, cols});
    return Linear(t, name);
  }
};

Matrix random_matrix(int64_t rows, int64_t cols, float scale, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, scale);
  Matrix m{rows, cols, std::vector<float>(rows * cols)};
  for (auto& x : m.v) x = dist(rng);
  return m;
}

TEST(GatedMLP, LongPassesInChunksMatchTheFormula) {
  // An intermediate size of 32768 makes the chunks 64 rows long (8 MiB of f32 each).
  const int64_t hidden = 8, inter = 32768;
  std::mt19937 rng(7);
  const Matrix gate = random_matrix(inter, hidden, 0.5f, rng);
  const Matrix up = random_matrix(inter, hidden, 0.5f, rng);
  const Matrix down = random_matrix(hidden, inter, 0.02f, rng);
  const GatedMLP mlp(gate.linear("gate"), up.linear("up"), down.linear("down"));
  for (int64_t rows : {int64_t{1}, int64_t{64}, int64_t{150}}) {
    const Matrix x = random_matrix(rows, hidden, 1.0f, rng);
    std::vector<float> out(rows * hidden);
    mlp.forward(x.v.data(), rows, out.data());
    for (int64_t i = 0; i < rows; ++i) {
      std::vector<double> want(hidden, 0.0), magnitude(hidden, 0.0);
      for (int64_t j = 0; j < inter; ++j) {
        double g = 0, u = 0;
        for (int64_t c = 0; c < hidden; ++c) {
          g += double{gate.v[j * hidden + c]} * x.v[i * hidden + c];
          u += double{up.v[j * hidden + c]} * x.v[i * hidden + c];
        }
        const double h = g / (1.0 + std::exp(-g)) * u;
        for (int64_t d = 0; d < hidden; ++d) {
          want[d] += double{down.v[d * inter + j]} * h;
          magnitude[d] += std::fabs(double{down.v[d * inter + j]} * h);
        }
      }
      for (int64_t d = 0; d < hidden; ++d) {
        ASSERT_NEAR(out[i * hidden + d], want[d], 1e-5 * magnitude[d] + 1e-6)
            << rows << " rows: row " << i << ", output " << d;
      }
    }
  }
}

}  // namespace
}  // namespace mlxlm
