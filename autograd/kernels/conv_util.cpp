#include "autograd/kernels/conv_util.h"

// PacketBlock<__m256> trips -Wignored-attributes (benign: the alignment attribute is not part of
// the type's identity here).
#pragma GCC diagnostic ignored "-Wignored-attributes"

#include <Eigen/Core>
#include <algorithm>
#include <cstdlib>
#include <new>

namespace shrink::kernels {
namespace {
// Transpose blocks: 8×8 with AVX, also on AVX-512 machines (measured faster there than 16×16
// blocks, and Eigen's AVX-512 ptranspose makes GCC 12 warn about uninitialised registers);
// otherwise the native packet.
#if defined(EIGEN_VECTORIZE_AVX)
using Packet = Eigen::internal::Packet8f;
constexpr int kPS = 8;
#else
using Packet = Eigen::internal::packet_traits<float>::type;
constexpr int kPS = Eigen::internal::packet_traits<float>::size;
#endif
}  // namespace

ScratchBuffer::~ScratchBuffer() { std::free(data_); }

float* ScratchBuffer::get(std::size_t n) {
  if (n > capacity_) {
    std::free(data_);
    // Grow geometrically so that a sequence of slightly larger requests reallocates rarely.
    const std::size_t cap = std::max(n, capacity_ + capacity_ / 2);
    const std::size_t bytes = (cap * sizeof(float) + 63) / 64 * 64;
    data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (data_ == nullptr) {
      capacity_ = 0;
      throw std::bad_alloc();
    }
    capacity_ = cap;
  }
  return data_;
}

void transpose(const float* src, std::int64_t rows, std::int64_t cols, std::int64_t lds, float* dst, std::int64_t ldd,
               const std::int64_t* src_rows, const std::int64_t* dst_rows) {
  using namespace Eigen::internal;
  const auto row = [&](std::int64_t i) { return src + (src_rows != nullptr ? src_rows[i] : i) * lds; };
  const auto out = [&](std::int64_t j) { return dst + (dst_rows != nullptr ? dst_rows[j] : j * ldd); };
  // One kPS×kPS block: kPS packet loads, the register transpose, kPS packet stores.
  const auto block = [&](std::int64_t i, std::int64_t j) {
    PacketBlock<Packet, kPS> b;
    for (int k = 0; k < kPS; ++k) b.packet[k] = ploadu<Packet>(row(i + k) + j);
    ptranspose(b);
    for (int k = 0; k < kPS; ++k) pstoreu(out(j + k) + i, b.packet[k]);
  };
  const std::int64_t ib = rows / kPS * kPS, jb = cols / kPS * kPS;
  for (std::int64_t i = 0; i < ib; i += kPS)
    for (std::int64_t j = 0; j < jb; j += kPS) block(i, j);
  for (std::int64_t i = 0; i < ib; ++i) {
    const float* r = row(i);
    for (std::int64_t j = jb; j < cols; ++j) out(j)[i] = r[j];
  }
  for (std::int64_t i = ib; i < rows; ++i) {
    const float* r = row(i);
    for (std::int64_t j = 0; j < cols; ++j) out(j)[i] = r[j];
  }
}

}  // namespace shrink::kernels
