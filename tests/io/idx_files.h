#pragma once
/// \file
/// Writing small idx files (raw or gzipped) for the dataset tests.

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace shrink::testing {

inline void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

/// Header + pixels of an idx3 image file (`pixels` holds count*rows*cols bytes).
inline std::string idx_images(std::uint32_t count, std::uint32_t rows, std::uint32_t cols,
                              const std::vector<std::uint8_t>& pixels) {
  std::string out;
  put_u32(out, 0x00000803);
  put_u32(out, count);
  put_u32(out, rows);
  put_u32(out, cols);
  out.append(pixels.begin(), pixels.end());
  return out;
}

/// Header + labels of an idx1 label file.
inline std::string idx_labels(const std::vector<std::uint8_t>& labels) {
  std::string out;
  put_u32(out, 0x00000801);
  put_u32(out, static_cast<std::uint32_t>(labels.size()));
  out.append(labels.begin(), labels.end());
  return out;
}

/// Writes `bytes` to `path`, gzip-compressed when `gzip`.
inline void write_file(const std::string& path, const std::string& bytes, bool gzip) {
  if (!gzip) {
    std::ofstream(path, std::ios::binary) << bytes;
    return;
  }
  gzFile f = gzopen(path.c_str(), "wb");
  if (f == nullptr || gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) != static_cast<int>(bytes.size()))
    throw std::runtime_error("cannot write " + path);
  gzclose(f);
}

/// `n` images of 28x28 whose pixel k of image i is (i * 31 + k) % 256, and labels i % 10.
inline std::vector<std::uint8_t> pattern_pixels(std::uint32_t n) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(n) * 784);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < 784; ++k) px[i * 784 + k] = static_cast<std::uint8_t>((i * 31 + k) % 256);
  return px;
}
inline std::vector<std::uint8_t> pattern_labels(std::uint32_t n) {
  std::vector<std::uint8_t> l(n);
  for (std::size_t i = 0; i < n; ++i) l[i] = static_cast<std::uint8_t>(i % 10);
  return l;
}

}  // namespace shrink::testing
