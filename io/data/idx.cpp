#include "io/data/idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <system_error>
#include <vector>

namespace shrink::data {
namespace {

/// The whole decompressed content of `path`; IOError when it cannot be opened or decompressed.
std::vector<unsigned char> read_all(const std::string& path, const std::string& prefix) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw IOError(prefix + "no such file");
  if (std::filesystem::is_directory(status)) throw IOError(prefix + "expected a file, got a directory");
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw IOError(prefix + "cannot open: " + std::strerror(errno ? errno : ENOMEM));
  gzbuffer(file, 1 << 17);
  std::vector<unsigned char> data;
  constexpr unsigned kChunk = 1u << 20;
  for (;;) {
    const std::size_t old = data.size();
    data.resize(old + kChunk);
    const int n = gzread(file, data.data() + old, kChunk);
    if (n < 0) {
      int code = 0;
      const std::string msg = gzerror(file, &code);
      gzclose(file);
      throw IOError(prefix + "corrupt gzip data (" + msg + ")");
    }
    data.resize(old + static_cast<std::size_t>(n));
    if (n == 0) break;
  }
  // A gzip stream cut short reads as a clean EOF in zlib < 1.2.12; gzclose reports it.
  const int rc = gzclose(file);
  if (rc == Z_BUF_ERROR) throw IOError(prefix + "truncated gzip stream (the file ends inside the compressed data)");
  if (rc != Z_OK) throw IOError(prefix + "corrupt gzip data (gzclose error " + std::to_string(rc) + ")");
  return data;
}

std::uint32_t big_endian_u32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

std::string hex(std::uint32_t v) {
  std::ostringstream os;
  os << "0x" << std::hex;
  os.width(8);
  os.fill('0');
  os << v;
  return os.str();
}

/// Checks the header of `data` and returns its dimensions; `what` names the expected content.
std::vector<std::uint32_t> parse_header(const std::vector<unsigned char>& data, std::uint32_t magic,
                                        const std::string& what, const std::string& prefix) {
  const std::size_t ndims = magic & 0xff;
  const std::size_t header = 4 + 4 * ndims;
  if (data.size() < 4)
    throw IOError(prefix + "truncated header: expected at least " + std::to_string(header) + " bytes, got " +
                  std::to_string(data.size()));
  const std::uint32_t found = big_endian_u32(data.data());
  if (found != magic) {
    std::string hint;
    if (found == kIdxLabelsMagic) hint = " (this is an idx label file)";
    if (found == kIdxImagesMagic) hint = " (this is an idx image file)";
    throw IOError(prefix + "expected magic " + hex(magic) + " (" + what + "), got " + hex(found) + hint);
  }
  if (data.size() < header)
    throw IOError(prefix + "truncated header: expected " + std::to_string(header) + " bytes, got " +
                  std::to_string(data.size()));
  std::vector<std::uint32_t> dims(ndims);
  for (std::size_t d = 0; d < ndims; ++d) dims[d] = big_endian_u32(data.data() + 4 + 4 * d);
  return dims;
}

void check_payload(std::size_t got, std::uint64_t expected, const std::string& description, const std::string& prefix) {
  if (got < expected)
    throw IOError(prefix + "truncated data: expected " + std::to_string(expected) + " bytes for " + description +
                  ", got " + std::to_string(got));
  if (got > expected)
    throw IOError(prefix + "expected " + std::to_string(expected) + " bytes for " + description + ", got " +
                  std::to_string(got) + " (" + std::to_string(got - expected) + " trailing bytes)");
}

}  // namespace

Tensor read_idx_images(const std::string& path) {
  const std::string prefix = "read_idx_images: '" + path + "': ";
  const std::vector<unsigned char> data = read_all(path, prefix);
  const auto dims = parse_header(data, kIdxImagesMagic, "idx3 unsigned-byte images", prefix);
  const std::uint64_t count = dims[0], rows = dims[1], cols = dims[2];
  // Three 32-bit sizes can overflow 64 bits: refuse such a header before multiplying.
  if (rows != 0 && cols != 0 && count > UINT64_MAX / rows / cols)
    throw IOError(prefix + "expected a plausible size, got " + std::to_string(count) + " images of " +
                  std::to_string(rows) + "x" + std::to_string(cols));
  const std::uint64_t expected = count * rows * cols;
  check_payload(data.size() - 16, expected,
                std::to_string(count) + " images of " + std::to_string(rows) + "x" + std::to_string(cols), prefix);
  Tensor out = Tensor::empty({static_cast<std::int64_t>(count), static_cast<std::int64_t>(rows),
                              static_cast<std::int64_t>(cols)},
                             DType::UInt8);
  if (expected > 0) std::memcpy(out.raw_data(), data.data() + 16, expected);
  return out;
}

Tensor read_idx_labels(const std::string& path) {
  const std::string prefix = "read_idx_labels: '" + path + "': ";
  const std::vector<unsigned char> data = read_all(path, prefix);
  const auto dims = parse_header(data, kIdxLabelsMagic, "idx1 unsigned-byte labels", prefix);
  const std::uint64_t count = dims[0];
  check_payload(data.size() - 8, count, std::to_string(count) + " labels", prefix);
  Tensor out = Tensor::empty({static_cast<std::int64_t>(count)}, DType::Int64);
  std::int64_t* p = out.data<std::int64_t>();
  for (std::uint64_t i = 0; i < count; ++i) p[i] = data[8 + i];
  return out;
}

}  // namespace shrink::data
