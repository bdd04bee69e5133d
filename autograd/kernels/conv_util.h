#pragma once
/// \file
/// Small helpers shared by the conv and pooling kernels: reusable aligned scratch buffers and a
/// blocked 2-D transpose (used to move between NCHW tensors and channel-last work buffers).

#include <cstddef>
#include <cstdint>

namespace shrink::kernels {

/// A growable, 64-byte aligned float buffer that keeps its memory between calls. Kernels hold
/// one `thread_local` instance per role, so steady-state calls allocate nothing.
class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer();
  /// At least `n` floats (contents unspecified); invalidates earlier pointers when it grows.
  float* get(std::size_t n);

 private:
  float* data_ = nullptr;
  std::size_t capacity_ = 0;
};

/// dst[d(j) + i] = src[r(i)*lds + j] for i < rows, j < cols (packet-blocked; any sizes), where
/// r(i) = src_rows[i] when given (a row permutation of the source), else i, and d(j) =
/// dst_rows[j] when given (each destination row placed anywhere: a channel-last pixel of a
/// padded image), else j*ldd.
void transpose(const float* src, std::int64_t rows, std::int64_t cols, std::int64_t lds, float* dst, std::int64_t ldd,
               const std::int64_t* src_rows = nullptr, const std::int64_t* dst_rows = nullptr);

}  // namespace shrink::kernels
