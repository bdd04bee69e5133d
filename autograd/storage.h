#pragma once
/// \file
/// Storage: one contiguous, 64-byte aligned, uninitialised buffer owned by tensors.

#include <cstddef>
#include <memory>

namespace shrink {

/// Alignment of every Storage buffer (a cache line; enough for AVX-512 loads).
inline constexpr std::size_t kStorageAlignment = 64;

/// A contiguous buffer of `nbytes` bytes, aligned to kStorageAlignment.
///
/// Freed buffers go back to a small per-size cache (see storage.cpp) so that training loops,
/// which allocate the same activation sizes every iteration, do not hit malloc in steady state.
class Storage {
 public:
  explicit Storage(std::size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }

 private:
  void* data_ = nullptr;
  std::size_t nbytes_ = 0;
};

/// Drops every cached free buffer (for memory measurements and tests).
void storage_release_cache();
/// Bytes currently held by the free-buffer cache.
std::size_t storage_cached_bytes();

}  // namespace shrink
