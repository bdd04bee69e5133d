#pragma once
/// \file
/// Helpers for the text the analysis tools write (internal): adding context to an exception that
/// a user callback or a model threw, suggesting close names for a misspelt layer, and the number
/// formats of messages and reports.

#include <string>
#include <vector>

namespace shrink::compression::detail {

/// Rethrows the exception being handled with `prefix` put before its message. Call it only
/// inside a catch block. A Shrink error keeps its type (ShapeError stays ShapeError); any other
/// std::exception becomes a shrink::Error; anything else is rethrown unchanged.
[[noreturn]] void rethrow_with_context(const std::string& prefix);

/// Up to `most` candidates within a small edit distance of `name` (Levenshtein distance at most
/// max(2, |name| / 3)), closest first, ties in candidate order.
std::vector<std::string> close_names(const std::string& name, const std::vector<std::string>& candidates,
                                     std::size_t most = 5);

/// "a, b, c" (and ", ... (N more)" after `most` items); "none" when empty.
std::string join_names(const std::vector<std::string>& names, std::size_t most = 10);

/// "12.50%": a fraction as a percentage with two decimals.
std::string percent(double fraction);

/// "0.1", "0.25": the shortest "%g" form of a ratio.
std::string ratio_str(double ratio);

}  // namespace shrink::compression::detail
