#pragma once
/// \file
/// The `meta` JSON of checkpoint files (see checkpoint.h for its fields): writing it from a
/// Checkpoint and reading it back with every field type- and range-checked, since it comes from
/// a file that may be hostile.

#include <cstddef>
#include <string>

#include "io/checkpoint.h"

namespace shrink::io {

/// Deepest nesting of arrays and objects accepted in `meta` (checked before parsing, so a
/// document nested a million levels deep fails cleanly instead of overflowing the stack).
inline constexpr std::size_t kMaxMetaDepth = 64;

/// The meta JSON of `checkpoint` (everything but its tensors).
nlohmann::json checkpoint_meta(const Checkpoint& checkpoint);

/// Parses `text` into the non-tensor fields of `checkpoint`. IOError starting with `prefix` and
/// naming the field on: nesting deeper than kMaxMetaDepth, invalid JSON (including numbers beyond
/// double range), a field of the wrong type, an unknown top-level field, a negative `epoch` or
/// `scheduler.last_epoch`, an integer beyond int64, or optimizer group options that are not
/// finite numbers >= 0.
void parse_checkpoint_meta(const std::string& text, const std::string& prefix, Checkpoint& checkpoint);

/// The deepest nesting of arrays/objects in JSON `text` (brackets inside strings do not count);
/// stops counting at `limit` + 1.
std::size_t json_nesting_depth(const std::string& text, std::size_t limit);

}  // namespace shrink::io
