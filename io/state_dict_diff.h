#pragma once
/// \file
/// The difference between the state_dict a model expects and the one it is given: missing,
/// unexpected and mismatched (shape or dtype) keys, reported together in one message as
/// PyTorch's load_state_dict does, with each list capped so that a wrong file of 500 tensors
/// still gives a readable error.

#include <cstddef>
#include <string>
#include <vector>

#include "io/state_dict.h"

namespace shrink::io {

/// One key present on both sides whose shape or dtype differs.
struct StateDictMismatch {
  std::string key;
  Shape expected_shape;
  /// dtype names ("float32", ...); a file entry may hold a type no tensor has ("float64").
  std::string expected_dtype;
  Shape got_shape;
  std::string got_dtype;
};

/// Name, shape and dtype name of one entry: what diff_entries compares (no data needed).
struct EntrySpec {
  std::string key;
  Shape shape;
  std::string dtype;
};

struct StateDictDiff {
  /// Keys of `expected` absent from `got`, in `expected`'s order.
  std::vector<std::string> missing;
  /// Keys of `got` absent from `expected`, in `got`'s order.
  std::vector<std::string> unexpected;
  /// Keys on both sides with another shape or dtype, in `expected`'s order.
  std::vector<StateDictMismatch> mismatched;

  /// True when both sides have the same keys with the same shapes and dtypes.
  bool empty() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  /// "missing keys: a, b; unexpected keys: c; shape/dtype mismatch: d (expected [2] float32,
  /// got [3] float32)": only the non-empty lists, each showing at most `max_listed` items and then
  /// "... and N more". "" when empty().
  std::string message(std::size_t max_listed = 10) const;
};

/// Compares the keys, shapes and dtypes of two state_dicts (not their values).
StateDictDiff diff_state_dicts(const StateDict& expected, const StateDict& got);

/// The same comparison on entry descriptions (e.g. the datasets of a file, before reading them).
StateDictDiff diff_entries(const std::vector<EntrySpec>& expected, const std::vector<EntrySpec>& got);

/// The specs of a state_dict's entries, in its order.
std::vector<EntrySpec> entry_specs(const StateDict& state_dict);

}  // namespace shrink::io
