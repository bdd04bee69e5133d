#include "pipeline/summary_table.h"

#include <cstdio>

#include "io/text_table.h"

namespace shrink::pipeline {
namespace {

std::string fixed(double value, int decimals, const char* suffix = "") {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f%s", decimals, value, suffix);
  return buf;
}

std::string accuracy_cell(const std::optional<double>& accuracy) {
  return accuracy ? fixed(100.0 * *accuracy, 2, "%") : "-";
}

/// "50,885 (2.00x)": the count and baseline / count when both are known.
std::string count_cell(std::int64_t count, std::int64_t baseline) {
  if (count <= 0) return "-";
  std::string cell = io::grouped(count);
  if (baseline > 0) cell += " (" + fixed(static_cast<double>(baseline) / static_cast<double>(count), 2, "x") + ")";
  return cell;
}

std::string epochs_cell(std::int64_t start, std::int64_t end) {
  if (end <= start) return "-";
  if (end == start + 1) return std::to_string(end);
  return std::to_string(start + 1) + "-" + std::to_string(end);
}

}  // namespace

std::vector<std::vector<std::string>> summary_rows(const RunRecord& record) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"stage", "type", "epochs", "top-1", "params (x fewer)", "MACs (x fewer)", "file", "latency (ms)"});
  rows.push_back({"baseline", "-", "-", accuracy_cell(record.baseline_accuracy), count_cell(record.baseline_params, 0),
                  count_cell(record.baseline_macs, 0), "-", "-"});
  for (const StageRecord& s : record.stages) {
    rows.push_back({s.done ? s.name : s.name + " (running)", s.type, epochs_cell(s.start_epoch, s.end_epoch),
                    accuracy_cell(s.accuracy), count_cell(s.params, record.baseline_params),
                    count_cell(s.macs, record.baseline_macs), s.file_bytes > 0 ? io::human_bytes(s.file_bytes) : "-",
                    s.latency_ms ? fixed(*s.latency_ms, 3) : "-"});
  }
  return rows;
}

std::vector<bool> summary_numeric_columns() { return {false, false, false, true, true, true, true, true}; }

std::string summary_table(const RunRecord& record) {
  std::vector<io::Align> align;
  for (const bool numeric : summary_numeric_columns()) align.push_back(numeric ? io::Align::Right : io::Align::Left);
  return io::text_table(summary_rows(record), align);
}

}  // namespace shrink::pipeline
