#pragma once
/// \file
/// Portable random draws for the data pipeline: the same seed gives the same shuffles and crops
/// with every standard library (std::uniform_int_distribution and std::shuffle are
/// implementation-defined, so they are not used).

#include <cstdint>
#include <vector>

#include "autograd/generator.h"

namespace shrink::data {

/// A well-mixed 64-bit seed derived from `seed` and `stream` (SplitMix64 finaliser): distinct
/// streams (epochs, batch numbers) give unrelated generators.
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream);

/// Uniform integer in [0, n) from the raw engine, without modulo bias. n must be positive.
std::int64_t uniform_below(Generator& gen, std::int64_t n);

/// 0..n-1 in an order drawn by Fisher-Yates from `gen`.
std::vector<std::int64_t> random_permutation(std::int64_t n, Generator& gen);

}  // namespace shrink::data
