#pragma once
/// \file
/// Readers for the idx format of MNIST and Fashion-MNIST, gzipped or raw (told apart by the gzip
/// magic bytes).
///
/// An idx file is a big-endian header — magic 0x00000801 (labels: unsigned bytes, 1 dimension)
/// or 0x00000803 (images: unsigned bytes, 3 dimensions), then one uint32 per dimension — followed
/// by exactly count * rows * cols (or count) bytes. Every deviation (missing file, wrong magic,
/// truncated header or data, trailing bytes, corrupt gzip stream, data after the gzip stream) is
/// an IOError naming the file and what is wrong.
///
/// Hostile files: the size the header declares is checked against what the file can hold (its
/// size raw, at most 1032 times it gzipped) before anything is allocated, and decompression stops
/// one byte after the declared size, so a gzip bomb costs no more memory than its header claims.

#include <cstdint>
#include <string>

#include "autograd/tensor.h"

namespace shrink::data {

/// Magic number of idx label files (unsigned byte, 1 dimension).
inline constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;
/// Magic number of idx image files (unsigned byte, 3 dimensions).
inline constexpr std::uint32_t kIdxImagesMagic = 0x00000803;

/// Reads an idx3 image file into a uint8 tensor [count, rows, cols].
Tensor read_idx_images(const std::string& path);
/// Reads an idx1 label file into an int64 tensor [count].
Tensor read_idx_labels(const std::string& path);

}  // namespace shrink::data
