#include "autograd/storage.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace shrink {
namespace {

// A size-bucketed cache of freed buffers, small ones included: aligned_alloc does not use
// malloc's fast per-thread bins, and at batch 1 an op's output is often a few hundred bytes. The
// cache holds at most kMaxCachedBytes in total so that a model that shrinks its working set does
// not pin its old peak forever.
constexpr std::size_t kMaxCachedBytes = std::size_t(1) << 30;

struct BufferCache {
  std::mutex mu;
  // Rounded size -> free buffers of that size. Vectors, not a multimap: in steady state taking
  // and returning a buffer allocates nothing (a multimap node per free was a malloc per tensor).
  std::unordered_map<std::size_t, std::vector<void*>> free_buffers;
  std::size_t cached_bytes = 0;

  ~BufferCache() { release(); }

  void release() {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& [size, ptrs] : free_buffers)
      for (void* ptr : ptrs) std::free(ptr);
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
  {
    auto& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_buffers.find(size);
    if (it != c.free_buffers.end() && !it->second.empty()) {
      data_ = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= size;
      return;
    }
  }
  data_ = std::aligned_alloc(kStorageAlignment, size);
  if (data_ == nullptr) throw std::bad_alloc();
}

Storage::~Storage() {
  const std::size_t size = rounded(nbytes_ == 0 ? 1 : nbytes_);
  {
    auto& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.cached_bytes + size <= kMaxCachedBytes) {
      try {
        c.free_buffers[size].push_back(data_);
        c.cached_bytes += size;
        return;
      } catch (const std::bad_alloc&) {
        // No room to remember the buffer: free it instead (a destructor must not throw).
      }
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
