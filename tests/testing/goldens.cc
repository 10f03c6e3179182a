#include "testing/goldens.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "testing/shared_data.h"

namespace mlxlm::testing {

std::vector<Json> tinystories_goldens() {
  std::ifstream in(shared_path("golden/tinystories-656k/greedy.jsonl"));
  std::vector<Json> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(parse_json(line, "greedy.jsonl"));
  }
  EXPECT_FALSE(out.empty()) << "no tinystories goldens were read";
  return out;
}

}  // namespace mlxlm::testing
