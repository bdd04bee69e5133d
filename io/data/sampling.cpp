#include "io/data/sampling.h"

#include <numeric>
#include <utility>

#include "autograd/error.h"

namespace shrink::data {

std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream) {
  auto splitmix = [](std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  return splitmix(splitmix(seed) ^ (stream * 0xd1b54a32d192ed03ULL + 1));
}

std::int64_t uniform_below(Generator& gen, std::int64_t n) {
  SHRINK_CHECK(n > 0, "uniform_below: expected a positive bound, got ", n);
  const auto bound = static_cast<std::uint64_t>(n);
  // Reject the lowest (2^64 mod bound) values so that every residue is equally likely.
  const std::uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const std::uint64_t r = gen.engine()();
    if (r >= threshold) return static_cast<std::int64_t>(r % bound);
  }
}

std::vector<std::int64_t> random_permutation(std::int64_t n, Generator& gen) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  for (std::int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[uniform_below(gen, i + 1)]);
  return order;
}

}  // namespace shrink::data
