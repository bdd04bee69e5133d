#pragma once
/// \file
/// Aligned plain-text tables and the number formats the reports share (the compression report,
/// the pipeline's summary table): every output is deterministic (same input, same bytes).
///
/// \code
///   io::text_table({{"layer", "params"}, {"conv", io::grouped(1234)}}, {io::Align::Left, io::Align::Right});
///   // "layer  params\n"
///   // "conv    1,234\n"
/// \endcode

#include <cstdint>
#include <string>
#include <vector>

namespace shrink::io {

enum class Align { Left, Right };

/// The rows (the first is usually the header) as lines of columns padded to the widest cell,
/// two spaces apart, trailing spaces removed. Widths count UTF-8 code points, not bytes. A
/// column without an entry in `align` is left-aligned; a short row is padded with empty cells.
std::string text_table(const std::vector<std::vector<std::string>>& rows, const std::vector<Align>& align);

/// The number of UTF-8 code points in `text` (bytes that do not continue a sequence).
std::size_t display_width(const std::string& text);

/// 1234567 -> "1,234,567".
std::string grouped(std::int64_t value);

/// A byte count in binary units, one decimal above 1 KiB: "512 B", "1.5 KiB", "2.3 MiB", "1.0 GiB".
std::string human_bytes(std::int64_t bytes);

}  // namespace shrink::io
