// Safetensors reading: round trips, aliases, shards, and one test per malformed-file case, each
// checking that the message names the problem.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/mapped_file.h"
#include "io/safetensors.h"
#include "io/weight_store.h"
#include "testing/shared_data.h"

namespace mlxlm {
namespace {

// Writes a file from a raw JSON header and data bytes.
std::string write_raw(const testing::TempDir& dir, const std::string& header,
                      const std::string& data,
                      std::optional<uint64_t> declared_len = std::nullopt) {
  std::string path = dir.file("raw.safetensors");
  std::string bytes(8, '\0');
  uint64_t len = declared_len.value_or(header.size());
  std::memcpy(bytes.data(), &len, 8);
  bytes += header;
  bytes += data;
  write_file_atomic(path, bytes);
  return path;
}

void expect_error(const std::string& path, const std::string& fragment) {
  try {
    SafetensorsFile f(path);
    FAIL() << "expected an error containing '" << fragment << "'";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos)
        << "message should name the file";
  }
}

TEST(Safetensors, RoundTripKeepsNamesShapesAndBytes) {
  testing::TempDir dir;
  Tensor a = Tensor::from_floats({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b(DType::BF16, {4});
  b.data<uint16_t>()[2] = f32_to_bf16(1.5f);
  Tensor empty(DType::F32, {0, 3});
  save_safetensors(dir.file("t.safetensors"),
                   {{"b", b.view()}, {"a", a.view()}, {"e", empty.view()}}, {{"format", "mlx"}});
  SafetensorsFile f(dir.file("t.safetensors"));
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a", "b", "e"}));
  EXPECT_EQ(f.metadata().at("format"), "mlx");
  EXPECT_EQ(f.get("a").shape(), (Shape{2, 3}));
  float last;  // raw views may be misaligned (unpadded header): copy the bytes out
  std::memcpy(&last, static_cast<const char*>(f.get("a").data()) + 5 * sizeof(float),
              sizeof(float));
  EXPECT_EQ(last, 6.0f);
  EXPECT_EQ(f.get("b").dtype(), DType::BF16);
  uint16_t half;
  std::memcpy(&half, static_cast<const char*>(f.get("b").data()) + 2 * sizeof(uint16_t),
              sizeof(half));
  EXPECT_EQ(bf16_to_f32(half), 1.5f);
  EXPECT_EQ(f.get("e").numel(), 0);
}

// Model weights come in sizes that are multiples of 64 bytes; each then starts on a cache line
// of the mapping (mmap gives a page-aligned base), whatever the header's length.
TEST(Safetensors, TensorsAfterWholeLinesStartOnALine) {
  testing::TempDir dir;
  Tensor line = Tensor::from_floats(std::vector<float>(16, 1.0f), {16});
  Tensor lines = Tensor::from_floats(std::vector<float>(48, 2.0f), {3, 16});
  Tensor odd = Tensor::from_floats({3.0f}, {1});
  for (const char* meta : {"", "x", "a longer metadata value"}) {
    SCOPED_TRACE(meta);
    save_safetensors(dir.file("t.safetensors"),
                     {{"a", line.view()}, {"b", lines.view()}, {"c", odd.view()}}, {{"note", meta}},
                     kWeightFileAlignment);
    SafetensorsFile f(dir.file("t.safetensors"));
    for (const char* name : {"a", "b", "c"}) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(f.get(name).data()) % 64, 0u) << name;
    }
  }
}

TEST(Safetensors, HeaderIsCompactSortedJsonLikeMlx) {
  testing::TempDir dir;
  Tensor a = Tensor::from_floats({1}, {1});
  save_safetensors(dir.file("t.safetensors"), {{"z", a.view()}, {"a", a.view()}}, {});
  std::string bytes = read_file(dir.file("t.safetensors"));
  uint64_t len;
  std::memcpy(&len, bytes.data(), 8);
  EXPECT_EQ(bytes.substr(8, len),
            R"({"__metadata__":{},"a":{"data_offsets":[0,4],"dtype":"F32","shape":[1]},)"
            R"("z":{"data_offsets":[4,8],"dtype":"F32","shape":[1]}})");
}

TEST(Safetensors, AlignedHeaderEndsInSpacesOnALine) {
  testing::TempDir dir;
  Tensor a = Tensor::from_floats({1}, {1});
  save_safetensors(dir.file("t.safetensors"), {{"z", a.view()}, {"a", a.view()}}, {},
                   kWeightFileAlignment);
  std::string bytes = read_file(dir.file("t.safetensors"));
  uint64_t len;
  std::memcpy(&len, bytes.data(), 8);
  // 8 + 125 bytes of JSON, then spaces up to byte 192, where the data starts.
  const std::string json =
      R"({"__metadata__":{},"a":{"data_offsets":[0,4],"dtype":"F32","shape":[1]},)"
      R"("z":{"data_offsets":[4,8],"dtype":"F32","shape":[1]}})";
  ASSERT_EQ(json.size(), 125u);
  EXPECT_EQ(len, 184u);
  EXPECT_EQ(bytes.substr(8, len), json + std::string(59, ' '));
  EXPECT_EQ(bytes.size(), 192u + 8u);
  SafetensorsFile f(dir.file("t.safetensors"));
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a", "z"}));
}

TEST(Safetensors, SampleModelAliasResolves) {
  SafetensorsFile f(testing::tinystories_dir() + "/model.safetensors");
  EXPECT_FALSE(f.entry("lm_head.weight").shape.empty());
  ASSERT_TRUE(f.contains("model.embed_tokens.weight"));
  EXPECT_EQ(f.get("model.embed_tokens.weight").data(), f.get("lm_head.weight").data());
}

TEST(SafetensorsMalformed, TooShortForHeader) {
  testing::TempDir dir;
  std::string path = dir.file("short.safetensors");
  write_file_atomic(path, "abc");
  expect_error(path, "too short for a header");
}

TEST(SafetensorsMalformed, HeaderLengthPastEndOfFile) {
  testing::TempDir dir;
  expect_error(write_raw(dir, "{}", "", 5000), "runs past the end");
}

TEST(SafetensorsMalformed, HugeHeaderLength) {
  testing::TempDir dir;
  expect_error(write_raw(dir, "{}", "", uint64_t{1} << 40), "exceeds the 100 MB limit");
}

TEST(SafetensorsMalformed, BrokenJson) {
  testing::TempDir dir;
  expect_error(write_raw(dir, R"({"a": {"dtype": "F32", )", ""), "malformed JSON header");
}

TEST(SafetensorsMalformed, HeaderNotAnObject) {
  testing::TempDir dir;
  expect_error(write_raw(dir, "[1, 2]", ""), "not a JSON object");
}

TEST(SafetensorsMalformed, UnknownDtype) {
  testing::TempDir dir;
  expect_error(write_raw(dir, R"({"w":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}})", "0000"),
               "unknown dtype 'F17'");
}

TEST(SafetensorsMalformed, ShapeTimesDtypeDisagreesWithOffsets) {
  testing::TempDir dir;
  expect_error(write_raw(dir, R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})",
                         std::string(12, '\0')),
               "needs 16 bytes but data_offsets span 12");
}

TEST(SafetensorsMalformed, NegativeDimension) {
  testing::TempDir dir;
  expect_error(write_raw(dir, R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "0000"),
               "negative dimension");
}

TEST(SafetensorsMalformed, RangeOutsideDataArea) {
  testing::TempDir dir;
  expect_error(write_raw(dir, R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                         std::string(16, '\0')),
               "run past the 16-byte data area");
}

TEST(SafetensorsMalformed, OffsetsEndBeforeBegin) {
  testing::TempDir dir;
  expect_error(write_raw(dir, R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})",
                         std::string(16, '\0')),
               "end before they begin");
}

TEST(SafetensorsMalformed, OverlappingTensors) {
  testing::TempDir dir;
  expect_error(write_raw(dir,
                         R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                         std::string(12, '\0')),
               "'a' and 'b' overlap");
}

TEST(SafetensorsMalformed, MetadataValueNotString) {
  testing::TempDir dir;
  expect_error(write_raw(dir, R"({"__metadata__":{"format":3}})", ""), "is not a string");
}

TEST(SafetensorsMalformed, MissingDataOffsets) {
  testing::TempDir dir;
  expect_error(write_raw(dir, R"({"w":{"dtype":"F32","shape":[1]}})", "0000"),
               "data_offsets must be two non-negative integers");
}

TEST(WeightStore, ShardsWithIndexAndDuplicateDetection) {
  testing::TempDir dir;
  Tensor a = Tensor::from_floats({1, 2}, {2});
  Tensor b = Tensor::from_floats({3}, {1});
  save_safetensors(dir.file("model-00001-of-00002.safetensors"), {{"a", a.view()}}, {});
  save_safetensors(dir.file("model-00002-of-00002.safetensors"), {{"b", b.view()}}, {});
  WeightStore s = WeightStore::open_dir(dir.path());
  EXPECT_EQ(s.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.get("b").data<float>()[0], 3.0f);

  // An index that maps a tensor to the wrong shard is rejected.
  write_file_atomic(
      dir.file("model.safetensors.index.json"),
      R"({"weight_map": {"a": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}})");
  try {
    WeightStore::open_dir(dir.path());
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'c' is not in"), std::string::npos) << e.what();
  }

  // The same tensor in two shards is an error naming it.
  std::remove(dir.file("model.safetensors.index.json").c_str());
  save_safetensors(dir.file("model-00002-of-00002.safetensors"), {{"a", b.view()}}, {});
  try {
    WeightStore::open_dir(dir.path());
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("'a' also appears in another shard"), std::string::npos)
        << e.what();
  }
}

// Weights are never copied out of the mapping, even when a tensor is misaligned for its dtype
// (mlx writes unpadded headers); readers use unaligned loads (convert_to_f32, the kernels).
TEST(WeightStore, MisalignedTensorsAreServedInPlace) {
  testing::TempDir dir;
  // A 1-byte tensor first pushes the F32 tensor to an odd offset.
  Tensor pad(DType::U8, {1});
  Tensor w = Tensor::from_floats({1.25f, -2.5f}, {2});
  save_safetensors(dir.file("model.safetensors"), {{"a_pad", pad.view()}, {"b_w", w.view()}}, {});
  WeightStore s = WeightStore::open_dir(dir.path());
  TensorView v = s.get("b_w");
  EXPECT_NE(reinterpret_cast<uintptr_t>(v.data()) % 4, 0u);
  float values[2];
  convert_to_f32(v.data(), v.dtype(), 2, values);
  EXPECT_EQ(values[0], 1.25f);
  EXPECT_EQ(values[1], -2.5f);
}

// The writer gathers bytes into 2 MiB chunks; pieces that start inside a chunk, fill it
// exactly, or span several must all arrive once and in order.
TEST(AtomicWrite, PiecesAcrossChunksArriveInOrder) {
  testing::TempDir dir;
  const size_t mib = size_t{1} << 20;
  const std::vector<size_t> pieces = {1, 2 * mib - 1, 4 * mib, 3, 2 * mib + 5, 2 * mib - 8, 0, 17};
  std::string expected;
  uint32_t x = 12345;
  for (size_t n : pieces) {
    for (size_t i = 0; i < n; ++i) {
      x = x * 1664525u + 1013904223u;
      expected.push_back(static_cast<char>(x >> 24));
    }
  }
  std::string path = dir.file("big.bin");
  AtomicFileWriter w(path);
  size_t at = 0;
  for (size_t n : pieces) {
    w.write(expected.data() + at, n);
    at += n;
  }
  w.commit();
  const std::string got = read_file(path);
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
}

TEST(AtomicWrite, FailureLeavesPreviousFileAndNoTemporary) {
  testing::TempDir dir;
  std::string path = dir.file("out.bin");
  write_file_atomic(path, "old");
  {
    AtomicFileWriter w(path);
    w.write("new contents");
    // destroyed without commit, as when an exception unwinds mid-write
  }
  EXPECT_EQ(read_file(path), "old");
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

}  // namespace
}  // namespace mlxlm

namespace mlxlm {
namespace {
TEST(WeightStore, WeightFileNames) {
  EXPECT_TRUE(is_weight_file_name("model.safetensors"));
  EXPECT_TRUE(is_weight_file_name("model-00001-of-00002.safetensors"));
  EXPECT_FALSE(is_weight_file_name("model-00001-of-.safetensors"));
  EXPECT_FALSE(is_weight_file_name("model.safetensors.index.json"));
  EXPECT_FALSE(is_weight_file_name("adapters.safetensors"));
  EXPECT_FALSE(is_weight_file_name("model-x-of-2.safetensors"));
}
}  // namespace
}  // namespace mlxlm
