#include <gtest/gtest.h>
#include "io/weight_store.h"
#include "testing/shared_data.h"
TEST(Smoke, Opens) {
  auto s = mlxlm::WeightStore::open_dir(mlxlm::testing::tinystories_dir());
  EXPECT_TRUE(s.contains("model.embed_tokens.weight"));
}
