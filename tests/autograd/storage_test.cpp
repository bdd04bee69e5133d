// Storage: alignment and the free-buffer cache (freed buffers of every size are reused).
#include "autograd/storage.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

namespace shrink {
namespace {

TEST(Storage, BuffersAreAlignedToACacheLine) {
  for (std::size_t n : {0u, 1u, 3u, 100u, 4096u, 100000u}) {
    Storage s(n);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(s.data()) % kStorageAlignment, 0u) << n;
    EXPECT_EQ(s.nbytes(), n);
  }
}

TEST(Storage, AFreedBufferIsReusedForTheSameRoundedSizeSmallOnesToo) {
  storage_release_cache();
  for (std::size_t n : {4u, 200u, 5000u}) {
    void* first = nullptr;
    {
      Storage s(n);
      first = s.data();
    }
    EXPECT_GE(storage_cached_bytes(), n) << n;
    // n + 1 rounds to the same 64-byte multiple, so it takes the cached buffer.
    Storage again(n + 1);
    EXPECT_EQ(again.data(), first) << n;
  }
}

TEST(Storage, CachedBytesCountFreedBuffersUntilReleased) {
  storage_release_cache();
  EXPECT_EQ(storage_cached_bytes(), 0u);
  { Storage a(100), b(1000); }
  EXPECT_EQ(storage_cached_bytes(), 128u + 1024u);  // sizes rounded up to 64-byte multiples
  { Storage c(100); }                               // takes one buffer and gives it back
  EXPECT_EQ(storage_cached_bytes(), 128u + 1024u);
  storage_release_cache();
  EXPECT_EQ(storage_cached_bytes(), 0u);
}

}  // namespace
}  // namespace shrink
