#include "autograd/storage.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

namespace shrink {
namespace {

// A size-bucketed cache of freed buffers. Only buffers of at least kMinCached bytes are cached
// (small ones are cheap to malloc), and the cache holds at most kMaxCachedBytes in total so that
// a model that shrinks its working set does not pin its old peak forever.
constexpr std::size_t kMinCached = 4096;
constexpr std::size_t kMaxCachedBytes = std::size_t(1) << 30;

struct BufferCache {
  std::mutex mu;
  std::multimap<std::size_t, void*> free_buffers;  // rounded size -> buffer
  std::size_t cached_bytes = 0;

  ~BufferCache() { release(); }

  void release() {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& [size, ptr] : free_buffers) std::free(ptr);
    free_buffers.clear();
    cached_bytes = 0;
  }
};

BufferCache& cache() {
  static BufferCache* c = new BufferCache();  // leaked on purpose: outlives static tensors
  return *c;
}

std::size_t rounded(std::size_t nbytes) {
  return (nbytes + kStorageAlignment - 1) / kStorageAlignment * kStorageAlignment;
}

}  // namespace

Storage::Storage(std::size_t nbytes) : nbytes_(nbytes) {
  const std::size_t size = rounded(nbytes == 0 ? 1 : nbytes);
  if (size >= kMinCached) {
    auto& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_buffers.find(size);
    if (it != c.free_buffers.end()) {
      data_ = it->second;
      c.cached_bytes -= size;
      c.free_buffers.erase(it);
      return;
    }
  }
  data_ = std::aligned_alloc(kStorageAlignment, size);
  if (data_ == nullptr) throw std::bad_alloc();
}

Storage::~Storage() {
  const std::size_t size = rounded(nbytes_ == 0 ? 1 : nbytes_);
  if (size >= kMinCached) {
    auto& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.cached_bytes + size <= kMaxCachedBytes) {
      c.free_buffers.emplace(size, data_);
      c.cached_bytes += size;
      return;
    }
  }
  std::free(data_);
}

void storage_release_cache() { cache().release(); }

std::size_t storage_cached_bytes() {
  auto& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.cached_bytes;
}

}  // namespace shrink
