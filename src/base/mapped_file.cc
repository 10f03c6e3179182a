#include "base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/error.h"

namespace mlxlm {
namespace {
std::string errno_text() { return std::strerror(errno); }
}  // namespace

MappedFile::MappedFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw FileError("io", "cannot open " + path + ": " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw FileError("io", "cannot stat " + path + ": " + errno_text());
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw FileError("io", path + " is not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      throw FileError("io", "cannot map " + path + ": " + errno_text());
    }
    data_ = static_cast<const uint8_t*>(p);
    // A hint: kernels without transparent huge pages for files refuse it, and that is fine.
    ::madvise(p, size_, MADV_HUGEPAGE);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
    path_ = std::move(other.path_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void advise_will_need(const void* p, size_t n) {
  if (p == nullptr || n == 0) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(p) & ~(page - 1);
  const auto end = reinterpret_cast<uintptr_t>(p) + n;
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_WILLNEED);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError("io", "cannot open " + path + ": " + errno_text());
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) throw FileError("io", "cannot read " + path);
  return out.str();
}

void write_file_atomic(const std::string& path, std::string_view contents) {
  AtomicFileWriter writer(path);
  writer.write(contents);
  writer.commit();
}

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  tmp_ = path_ + ".tmp-XXXXXX";
  fd_ = ::mkstemp(tmp_.data());
  if (fd_ < 0) {
    throw FileError("io", "cannot create a temporary file beside " + path_ + ": " + errno_text());
  }
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void AtomicFileWriter::write_all(const char* p, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd_, p + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw FileError("io", "cannot write " + path_ + ": " + errno_text());
    }
    done += static_cast<size_t>(n);
  }
}

// Every write() lands on a kChunk boundary with a whole number of chunks: the page cache then
// keeps the file in 2 MiB folios (so ext4 does on Linux 6.18, measured), which a later mmap maps
// with 2 MiB pages. Unaligned writes (a safetensors header of any length, then tensor after tensor)
// leave it in 4 KiB pages. Weights read through 2 MiB pages stream faster: docs/benchmarks.md,
// session 20.
void AtomicFileWriter::write(const void* data, size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    if (pending_.empty() && size >= kChunk) {
      const size_t whole = size / kChunk * kChunk;
      write_all(p, whole);
      p += whole;
      size -= whole;
      continue;
    }
    const size_t take = std::min(size, kChunk - pending_.size());
    pending_.insert(pending_.end(), p, p + take);
    p += take;
    size -= take;
    if (pending_.size() == kChunk) {
      write_all(pending_.data(), kChunk);
      pending_.clear();
    }
  }
}

void AtomicFileWriter::commit() {
  write_all(pending_.data(), pending_.size());
  pending_.clear();
  if (::fsync(fd_) != 0) throw FileError("io", "cannot flush " + path_ + ": " + errno_text());
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    std::string why = errno_text();
    ::unlink(tmp_.c_str());
    throw FileError("io", "cannot close " + path_ + ": " + why);
  }
  ::chmod(tmp_.c_str(), 0644);
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::string why = errno_text();
    ::unlink(tmp_.c_str());
    throw FileError("io", "cannot rename into " + path_ + ": " + why);
  }
}

}  // namespace mlxlm
