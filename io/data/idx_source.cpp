#include "io/data/idx_source.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "autograd/error.h"

namespace shrink::data {
namespace {

/// Compressed bytes read from the file at a time.
constexpr std::size_t kInputChunk = 1 << 16;

}  // namespace

IdxSource::IdxSource(const std::string& path, std::string prefix) : prefix_(std::move(prefix)) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw IOError(prefix_ + "no such file");
  if (std::filesystem::is_directory(status)) throw IOError(prefix_ + "expected a file, got a directory");
  if (!std::filesystem::is_regular_file(status)) throw IOError(prefix_ + "expected a regular file");
  file_size_ = std::filesystem::file_size(path, ec);
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr || ec) {
    const int err = errno;
    if (file_ != nullptr) std::fclose(file_);
    throw IOError(prefix_ + "cannot open: " + std::strerror(err ? err : EIO));
  }
  unsigned char magic[2] = {0, 0};
  const std::size_t got = std::fread(magic, 1, 2, file_);
  gzip_ = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  std::rewind(file_);
  if (gzip_) {
    in_.resize(kInputChunk);
    // 16 + MAX_WBITS: a gzip wrapper, whose CRC and length inflate checks at the end.
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) {
      std::fclose(file_);
      throw IOError(prefix_ + "cannot start decompressing (zlib out of memory)");
    }
  }
}

IdxSource::~IdxSource() {
  if (gzip_) inflateEnd(&zs_);
  if (file_ != nullptr) std::fclose(file_);
}

std::uint64_t IdxSource::max_data_bytes() const { return gzip_ ? file_size_ * kMaxGzipRatio : file_size_; }

bool IdxSource::fill() {
  const std::size_t n = std::fread(in_.data(), 1, in_.size(), file_);
  if (n == 0 && std::ferror(file_)) throw IOError(prefix_ + "cannot read: " + std::strerror(errno ? errno : EIO));
  zs_.next_in = in_.data();
  zs_.avail_in = static_cast<uInt>(n);
  return n > 0;
}

std::size_t IdxSource::read(unsigned char* out, std::size_t n) {
  if (!gzip_) {
    const std::size_t got = std::fread(out, 1, n, file_);
    if (got < n && std::ferror(file_)) throw IOError(prefix_ + "cannot read: " + std::strerror(errno ? errno : EIO));
    return got;
  }
  std::size_t produced = 0;
  while (produced < n && !ended_) {
    if (zs_.avail_in == 0 && !fill())
      throw IOError(prefix_ + "truncated gzip stream (the file ends inside the compressed data)");
    zs_.next_out = out + produced;
    zs_.avail_out = static_cast<uInt>(std::min<std::size_t>(n - produced, 1u << 30));
    const int rc = inflate(&zs_, Z_NO_FLUSH);
    produced = static_cast<std::size_t>(zs_.next_out - out);
    if (rc == Z_STREAM_END) {
      ended_ = true;
      if (zs_.avail_in > 0 || fill()) throw IOError(prefix_ + "expected the file to end with its gzip stream, got trailing bytes after it");
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      throw IOError(prefix_ + "corrupt gzip data (" + (zs_.msg ? zs_.msg : "zlib error " + std::to_string(rc)) + ")");
    }
  }
  return produced;
}

}  // namespace shrink::data
