#pragma once
// A read-only memory map of a whole file. Views into it live as long as the MappedFile. The
// map asks for 2 MiB pages: where the page cache holds the file in 2 MiB folios, weights stream
// through fewer TLB entries and faster (docs/benchmarks.md, session 20).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mlxlm {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Asks the kernel to start reading the pages of [p, p + n) in the background (a hint: errors
// are ignored). Loading touches many small tensors spread over a cold file; hinting them all
// first queues their reads together instead of blocking on one page fault after another.
void advise_will_need(const void* p, size_t n);

// Reads a whole file into a string; throws FileError naming the path.
std::string read_file(const std::string& path);

// Writes `contents` to `path` atomically: a temporary file beside it, fsync, then rename.
// A failure leaves any previous file untouched and no temporary behind.
void write_file_atomic(const std::string& path, std::string_view contents);

}  // namespace mlxlm

namespace mlxlm {

// Streams a file into place atomically: bytes go to a temporary file beside `path`, and only
// commit() fsyncs and renames it over `path`. Destroying an uncommitted writer removes the
// temporary, so a crash or an exception never leaves a half-written file at `path`. Bytes reach
// the file in whole 2 MiB chunks (the last one excepted), so that the page cache can hold it
// in 2 MiB pages.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view s) { write(s.data(), s.size()); }
  void commit();

 private:
  static constexpr size_t kChunk = size_t{2} << 20;
  void write_all(const char* p, size_t size);

  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  std::vector<char> pending_;  // bytes not yet written, fewer than kChunk
};

}  // namespace mlxlm
