#pragma once
/// \file
/// The summary of a pipeline run: a baseline row (the model as loaded), then one row per stage
/// with its epochs, test top-1, effective params and MACs (and how many times fewer than the
/// baseline), the size of the file it wrote and its batch-1 latency; "-" where a value is absent.
/// `shrink compress` prints it at the end; report.html shows the same cells as an HTML table.
///
///     stage     type         epochs   top-1  params (x fewer)   MACs (x fewer)       file  latency (ms)
///     baseline  -            -       10.00%           101,770          101,632          -             -
///     dense     train        1-2     88.12%   101,770 (1.00x)  101,632 (1.00x)          -         0.051
///     sens      sensitivity  -       88.12%   101,770 (1.00x)  101,632 (1.00x)          -             -
///     prune     prune        3       87.90%    50,885 (2.00x)   50,816 (2.00x)          -             -
///     export    export       -            -    50,885 (2.00x)   50,816 (2.00x)  203.1 KiB         0.032
///
/// (tests/pipeline/summary_table_test.cpp.)

#include <string>
#include <vector>

#include "pipeline/run_record.h"

namespace shrink::pipeline {

/// The table's cells: the header, the baseline row, then a row per stage in run order.
/// Epochs are shown 1-based and inclusive ("1-2" for the timeline's [0, 2), "3" for one epoch,
/// "-" for none); top-1 with two decimals; params and MACs with thousands separators and the
/// baseline's count divided by the stage's (when both are known); file size in binary units;
/// latency in milliseconds with three decimals. A count of 0 and an empty optional print "-".
/// A stage that has not finished is named "<name> (running)".
std::vector<std::vector<std::string>> summary_rows(const RunRecord& record);

/// Which of summary_rows()' columns hold numbers (right-aligned).
std::vector<bool> summary_numeric_columns();

/// summary_rows() as an aligned plain-text table, one line per row.
std::string summary_table(const RunRecord& record);

}  // namespace shrink::pipeline
