#pragma once
/// \file
/// Internal helpers shared by the observers: checking an observed tensor, gathering its values
/// per channel, and reading a saved observer state back with validation. Not part of the public
/// API (everything here is in `detail`).

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "io/state_dict.h"

namespace shrink::compression::detail {

/// Checks that `x` is a defined, non-empty float32 tensor with a dim `axis` (when axis ≥ 0);
/// ValueError / IndexError "<who>: expected ..." otherwise.
void check_observed(const Tensor& x, std::int64_t axis, const std::string& who);

/// The values of `x` per channel along `axis` (one list holding every value when axis is −1), in
/// row-major order within each channel. `x` must pass check_observed().
std::vector<std::vector<float>> channel_values(const Tensor& x, std::int64_t axis);

/// max|v| over `values` (0 for an empty list).
float abs_max(const std::vector<float>& values);

/// Checks that `state` holds exactly the keys `keys` (in any order); ValueError
/// "<who>.load_state: expected the entries (k1, k2), got (..)" otherwise.
void check_state_keys(const io::StateDict& state, const std::vector<std::string>& keys, const std::string& who);

/// The float32 1-D entry `key` of `state`, with `size` elements when size ≥ 0 (any when −1);
/// ValueError "<who>.load_state: expected '<key>' to be a float32 tensor of shape [n], got ..."
/// otherwise. Returns a deep copy.
Tensor state_floats(const io::StateDict& state, const std::string& key, std::int64_t size, const std::string& who);

/// The one-element int64 entry `key` of `state`, checked to be ≥ `min`.
std::int64_t state_count(const io::StateDict& state, const std::string& key, std::int64_t min, const std::string& who);

/// Running mean in float32 over batches: m ← m + (v − m)/n for the n-th batch (n ≥ 1).
void running_mean(Tensor& mean, const std::vector<float>& value, std::int64_t n);

}  // namespace shrink::compression::detail
