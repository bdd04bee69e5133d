#include "io/data/sampling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "autograd/error.h"

namespace shrink::data {
namespace {

TEST(MixSeed, SeparatesStreamsAndSeeds) {
  std::set<std::uint64_t> seen;
  for (std::uint64_t seed : {0ULL, 1ULL, 2ULL, ~0ULL})
    for (std::uint64_t stream = 0; stream < 100; ++stream) seen.insert(mix_seed(seed, stream));
  EXPECT_EQ(seen.size(), 400u);
  EXPECT_EQ(mix_seed(5, 7), mix_seed(5, 7));
  EXPECT_NE(mix_seed(5, 7), mix_seed(7, 5));
}

TEST(UniformBelow, StaysInRangeAndCoversIt) {
  Generator gen(1);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 7000; ++i) {
    const std::int64_t v = uniform_below(gen, 7);
    ASSERT_GE(v, 0);
    ASSERT_LT(v, 7);
    counts[v]++;
  }
  for (int c : counts) {  // 1000 expected each, standard deviation ~30
    EXPECT_GT(c, 850);
    EXPECT_LT(c, 1150);
  }
  EXPECT_EQ(uniform_below(gen, 1), 0);
  const std::int64_t big = std::int64_t{1} << 62;
  EXPECT_LT(uniform_below(gen, big), big);
  try {
    uniform_below(gen, 0);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "uniform_below: expected a positive bound, got 0");
  }
}

TEST(RandomPermutation, IsAReproduciblePermutation) {
  Generator a(9), b(9), c(10);
  const auto p = random_permutation(50, a);
  EXPECT_EQ(p, random_permutation(50, b));
  EXPECT_NE(p, random_permutation(50, c));
  auto sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < 50; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_TRUE(random_permutation(0, a).empty());
  EXPECT_EQ(random_permutation(1, a), std::vector<std::int64_t>{0});
}

TEST(RandomPermutation, EveryPositionIsUniform) {
  // Each of the 6 permutations of 3 elements appears about equally often.
  Generator gen(3);
  std::map<std::vector<std::int64_t>, int> counts;
  for (int i = 0; i < 6000; ++i) counts[random_permutation(3, gen)]++;
  EXPECT_EQ(counts.size(), 6u);
  for (const auto& [perm, n] : counts) {
    EXPECT_GT(n, 850);
    EXPECT_LT(n, 1150);
  }
}

}  // namespace
}  // namespace shrink::data
