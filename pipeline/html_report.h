#pragma once
/// \file
/// report.html: one self-contained HTML file for a pipeline run (inline CSS and SVG, no scripts,
/// no network, no external fonts) that opens in any browser. Sections, each left out when it
/// would be empty:
///   - the title (pipeline file) and the model;
///   - the summary table (summary_table.h's cells as an HTML table);
///   - test top-1 against MACs per sample, the baseline and every stage that has both;
///   - per-layer sparsity, a bar per stage that has layer rows;
///   - sensitivity curves (top-1 against pruning ratio, a line per layer) for every sensitivity stage;
///   - test top-1 per epoch, a line per training stage (epochs 1-based, as in the table);
///   - per stage: wall time, notes and files written.
/// Every user text is escaped (markup.h); the same record always gives the same bytes.

#include <string>

#include "pipeline/run_record.h"

namespace shrink::pipeline {

/// The whole document, starting "<!DOCTYPE html>".
std::string html_report(const RunRecord& record);

/// html_report() written atomically to `path` (io::write_text_atomically): IOError
/// "write_html_report: cannot write '<path>': <reason>" when it cannot be written, and then no
/// file is left behind.
void write_html_report(const RunRecord& record, const std::string& path);

}  // namespace shrink::pipeline
