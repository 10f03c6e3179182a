// mlx writes safetensors without padding, so tensors may start at any byte. They must be used
// in place (no copy) and give exactly the results of an aligned file.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/mapped_file.h"
#include "io/weight_store.h"
#include "models/convert.h"
#include "models/registry.h"
#include "random_model.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

namespace fs = std::filesystem;

// Copies the model folder `src` to `dst` with the data area of its weights starting at an odd
// byte offset, as mlx's unpadded headers can leave it: save_safetensors pads its header to a
// 64-byte line, so the padding is trimmed and redone.
void copy_misaligned(const std::string& src, const std::string& dst) {
  fs::create_directories(dst);
  for (const auto& e : fs::directory_iterator(src)) {
    if (e.path().extension() != ".safetensors") fs::copy(e.path(), dst / e.path().filename());
  }
  const std::string bytes = read_file(src + "/model.safetensors");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  std::string header = bytes.substr(8, n);
  header.erase(header.find_last_not_of(' ') + 1);
  while ((8 + header.size()) % 4 != 1) header += ' ';
  const uint64_t len = header.size();
  std::ofstream out(dst + "/model.safetensors", std::ios::binary);
  out.write(reinterpret_cast<const char*>(&len), 8);
  out << header << bytes.substr(8 + n);
  ASSERT_TRUE(out.good());
}

void expect_same_logits(const std::string& a_dir, const std::string& b_dir) {
  auto a = load_model(a_dir), b = load_model(b_dir);
  const std::vector<int32_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6};
  PromptCache ca = a->make_cache(), cb = b->make_cache();
  Tensor la = a->forward(tokens, 1, ca, false), lb = b->forward(tokens, 1, cb, false);
  ASSERT_EQ(la.numel(), lb.numel());
  EXPECT_EQ(0, std::memcmp(la.data(), lb.data(), la.nbytes()));
}

TEST(MisalignedWeights, UsedInPlaceWithIdenticalResults) {
  testing::TempDir dir;
  const std::string f32 = dir.file("f32");
  fs::create_directories(f32);
  testing::write_random_model(f32, {});
  ConvertOptions o;
  o.hf_path = f32;
  o.mlx_path = dir.file("q4bf16");
  o.quantize = true;
  o.dtype = "bfloat16";
  convert_model(o);
  for (const std::string& src : {f32, o.mlx_path}) {
    SCOPED_TRACE(src);
    const std::string odd = src + "-odd";
    copy_misaligned(src, odd);
    auto store = WeightStore::open_dir(odd);
    const void* p = store.get("model.layers.0.input_layernorm.weight").data();
    EXPECT_NE(reinterpret_cast<uintptr_t>(p) % 2, 0u) << "expected an in-place, misaligned view";
    expect_same_logits(src, odd);
  }
}

}  // namespace
}  // namespace mlxlm
