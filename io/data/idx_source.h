#pragma once
/// \file
/// The bytes of an idx file, raw or gzip-compressed, read incrementally with hard limits (used by
/// idx.cpp): the caller reads exactly what the header declares, so a gzip bomb is never inflated
/// beyond it, and anything after the data (raw trailing bytes, more inflated data, bytes after
/// the gzip stream) is an IOError.

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace shrink::data {

/// deflate expands its input at most ~1032:1; a gzip file declaring more data than this times
/// its own size is refused before anything is allocated.
inline constexpr std::uint64_t kMaxGzipRatio = 1032;

class IdxSource {
 public:
  /// Opens `path`; `prefix` ("<where>: '<path>': ") starts every error message.
  IdxSource(const std::string& path, std::string prefix);
  ~IdxSource();
  IdxSource(const IdxSource&) = delete;
  IdxSource& operator=(const IdxSource&) = delete;

  /// Reads up to `n` bytes into `out`; fewer only at the end of the (decompressed) data.
  std::size_t read(unsigned char* out, std::size_t n);
  /// Whether the file is gzip-compressed.
  bool gzip() const { return gzip_; }
  /// Size of the file on disk.
  std::uint64_t file_size() const { return file_size_; }
  /// The most data bytes the file can hold: its size raw, kMaxGzipRatio times it gzipped.
  std::uint64_t max_data_bytes() const;

 private:
  /// Refills the compressed input; false at the end of the file.
  bool fill();

  std::string prefix_;
  std::FILE* file_ = nullptr;
  std::uint64_t file_size_ = 0;
  bool gzip_ = false;
  bool ended_ = false;  // the gzip stream reached its end
  z_stream zs_{};
  std::vector<unsigned char> in_;
};

}  // namespace shrink::data
