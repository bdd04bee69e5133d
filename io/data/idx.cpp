#include "io/data/idx.h"

#include <sstream>
#include <vector>

#include "io/data/idx_source.h"

namespace shrink::data {
namespace {

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

/// Reads and checks the header and returns its dimensions; `what` names the expected content.
std::vector<std::uint32_t> read_header(IdxSource& source, std::uint32_t magic, const std::string& what,
                                       const std::string& prefix) {
  const std::size_t ndims = magic & 0xff;
  const std::size_t header = 4 + 4 * ndims;
  unsigned char bytes[16];
  std::size_t got = source.read(bytes, 4);
  if (got < 4)
    throw IOError(prefix + "truncated header: expected at least " + std::to_string(header) + " bytes, got " +
                  std::to_string(got));
  const std::uint32_t found = big_endian_u32(bytes);
  if (found != magic) {
    std::string hint;
    if (found == kIdxLabelsMagic) hint = " (this is an idx label file)";
    if (found == kIdxImagesMagic) hint = " (this is an idx image file)";
    throw IOError(prefix + "expected magic " + hex(magic) + " (" + what + "), got " + hex(found) + hint);
  }
  got += source.read(bytes + 4, header - 4);
  if (got < header)
    throw IOError(prefix + "truncated header: expected " + std::to_string(header) + " bytes, got " + std::to_string(got));
  std::vector<std::uint32_t> dims(ndims);
  for (std::size_t d = 0; d < ndims; ++d) dims[d] = big_endian_u32(bytes + 4 + 4 * d);
  return dims;
}

/// Reads exactly `expected` data bytes into `out` (sized by the caller, after the declared size
/// was checked against what the file can hold) and makes sure nothing follows them.
void read_payload(IdxSource& source, unsigned char* out, std::uint64_t expected, std::size_t header,
                  const std::string& description, const std::string& prefix) {
  const std::size_t got = expected > 0 ? source.read(out, expected) : 0;
  if (got < expected)
    throw IOError(prefix + "truncated data: expected " + std::to_string(expected) + " bytes for " + description +
                  ", got " + std::to_string(got));
  unsigned char extra = 0;
  if (source.read(&extra, 1) > 0) {
    if (source.gzip())
      throw IOError(prefix + "expected " + std::to_string(expected) + " bytes for " + description +
                    ", got more (the decompressed data goes on after them)");
    const std::uint64_t total = source.file_size() - header;
    throw IOError(prefix + "expected " + std::to_string(expected) + " bytes for " + description + ", got " +
                  std::to_string(total) + " (" + std::to_string(total - expected) + " trailing bytes)");
  }
}

/// The declared size must fit in the file (raw: its size; gzip: kMaxGzipRatio times it): checked
/// before allocating anything, so a forged header cannot request gigabytes.
void check_declared_size(const IdxSource& source, std::uint64_t expected, std::size_t header,
                         const std::string& description, const std::string& prefix) {
  if (!source.gzip() && source.file_size() - header < expected)
    throw IOError(prefix + "truncated data: expected " + std::to_string(expected) + " bytes for " + description +
                  ", got " + std::to_string(source.file_size() - header));
  if (source.gzip() && expected > source.max_data_bytes())
    throw IOError(prefix + "expected " + std::to_string(expected) + " bytes for " + description +
                  ", got a gzip file of " + std::to_string(source.file_size()) + " bytes, which inflates to at most " +
                  std::to_string(source.max_data_bytes()) + " (Hint: the header is corrupt)");
}

}  // namespace

Tensor read_idx_images(const std::string& path) {
  const std::string prefix = "read_idx_images: '" + path + "': ";
  IdxSource source(path, prefix);
  const auto dims = read_header(source, kIdxImagesMagic, "idx3 unsigned-byte images", prefix);
  const std::uint64_t count = dims[0], rows = dims[1], cols = dims[2];
  // Three 32-bit sizes can overflow 64 bits: refuse such a header before multiplying.
  if (rows != 0 && cols != 0 && count > UINT64_MAX / rows / cols)
    throw IOError(prefix + "expected a plausible size, got " + std::to_string(count) + " images of " +
                  std::to_string(rows) + "x" + std::to_string(cols));
  const std::uint64_t expected = count * rows * cols;
  const std::string description =
      std::to_string(count) + " images of " + std::to_string(rows) + "x" + std::to_string(cols);
  check_declared_size(source, expected, 16, description, prefix);
  Tensor out = Tensor::empty({static_cast<std::int64_t>(count), static_cast<std::int64_t>(rows),
                              static_cast<std::int64_t>(cols)},
                             DType::UInt8);
  read_payload(source, static_cast<unsigned char*>(out.raw_data()), expected, 16, description, prefix);
  return out;
}

Tensor read_idx_labels(const std::string& path) {
  const std::string prefix = "read_idx_labels: '" + path + "': ";
  IdxSource source(path, prefix);
  const auto dims = read_header(source, kIdxLabelsMagic, "idx1 unsigned-byte labels", prefix);
  const std::uint64_t count = dims[0];
  const std::string description = std::to_string(count) + " labels";
  check_declared_size(source, count, 8, description, prefix);
  std::vector<unsigned char> bytes(count);
  read_payload(source, bytes.data(), count, 8, description, prefix);
  Tensor out = Tensor::empty({static_cast<std::int64_t>(count)}, DType::Int64);
  std::int64_t* p = out.data<std::int64_t>();
  for (std::uint64_t i = 0; i < count; ++i) p[i] = bytes[i];
  return out;
}

}  // namespace shrink::data
