#include "pipeline/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "io/atomic_write.h"
#include "pipeline/markup.h"
#include "pipeline/summary_table.h"
#include "pipeline/svg_chart.h"

namespace shrink::pipeline {
namespace {

constexpr const char* kStyle = R"(body{font-family:sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
h3{font-size:1.05em;margin-bottom:.3em}
.meta{color:#555;margin-top:0}
table{border-collapse:collapse;font-size:.92em}
th,td{padding:.3em .7em;border-bottom:1px solid #e5e5e5;white-space:nowrap}
th{text-align:left;background:#f5f5f5}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.chart{overflow-x:auto;margin:.5em 0}
code{background:#f3f3f3;padding:0 .25em}
ul{margin-top:.2em}
)";


std::string table(const RunRecord& record) {
  const std::vector<bool> numeric = summary_numeric_columns();
  const auto cell = [&](const char* tag, std::size_t k, const std::string& text) {
    const std::string cls = k < numeric.size() && numeric[k] ? " class=\"num\"" : "";
    return std::string("<") + tag + cls + ">" + xml_escape(text) + "</" + tag + ">";
  };
  const auto rows = summary_rows(record);
  std::string out = "<table>\n";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    out += "<tr>";
    for (std::size_t k = 0; k < rows[r].size(); ++k) out += cell(r == 0 ? "th" : "td", k, rows[r][k]);
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

std::string section(const std::string& heading, const std::string& body) {
  return "<h2>" + xml_escape(heading) + "</h2>\n" + body;
}

std::string chart(const std::string& svg) { return "<div class=\"chart\">\n" + svg + "</div>\n"; }

ChartAxis axis(const std::string& label, const std::string& unit = "") {
  ChartAxis a;
  a.label = label;
  a.unit = unit;
  return a;
}

ChartOptions options(const std::string& title, const ChartAxis& x, const ChartAxis& y) {
  ChartOptions o;
  o.title = title;
  o.x = x;
  o.y = y;
  return o;
}

ChartSeries named(const std::string& name) {
  ChartSeries c;
  c.name = name;
  return c;
}

ChartAxis top1_axis() { return axis("test top-1", "%"); }

/// The baseline and every stage with an accuracy and MACs, in run order.
std::string accuracy_vs_macs(const RunRecord& record) {
  ChartSeries points = named("top-1 after each stage");
  const auto add = [&](const std::string& label, const std::optional<double>& accuracy, std::int64_t macs) {
    if (!accuracy || macs <= 0) return;
    // A stage that changed neither (sensitivity, speedup) shares the previous point and its label.
    if (!points.x.empty() && points.x.back() == static_cast<double>(macs) && points.y.back() == 100.0 * *accuracy) {
      points.labels.back() += ", " + label;
      return;
    }
    points.x.push_back(static_cast<double>(macs));
    points.y.push_back(100.0 * *accuracy);
    points.labels.push_back(label);
  };
  add("baseline", record.baseline_accuracy, record.baseline_macs);
  for (const StageRecord& s : record.stages) add(s.name, s.accuracy, s.macs);
  if (points.x.empty()) return "";
  return section("Accuracy vs MACs",
                 chart(line_chart({points}, options("Test top-1 vs MACs per sample",
                                                    axis("MACs per sample (effective)"), top1_axis()))));
}

std::string layer_sparsity(const RunRecord& record) {
  std::vector<std::string> layers;
  for (const StageRecord& s : record.stages)
    for (const LayerRecord& l : s.layers)
      if (std::find(layers.begin(), layers.end(), l.name) == layers.end()) layers.push_back(l.name);
  std::vector<BarSeries> bars;
  for (const StageRecord& s : record.stages) {
    if (s.layers.empty()) continue;
    BarSeries b{s.name, std::vector<double>(layers.size(), NAN)};
    for (const LayerRecord& l : s.layers)
      b.values[std::find(layers.begin(), layers.end(), l.name) - layers.begin()] = 100.0 * l.sparsity;
    bars.push_back(std::move(b));
  }
  if (bars.empty()) return "";
  ChartAxis y = axis("sparsity", "%");
  y.min = 0.0;
  y.max = 100.0;
  return section("Per-layer sparsity",
                 chart(bar_chart(layers, bars, options("Fraction of each layer's weight that is zero", axis("layer"), y))));
}

std::string sensitivity(const RunRecord& record) {
  std::string out;
  for (const StageRecord& s : record.stages) {
    if (!s.sensitivity) continue;
    const SensitivityRecord& sr = *s.sensitivity;
    std::vector<ChartSeries> curves;
    for (const auto& [layer, accuracy] : sr.accuracy) {
      ChartSeries c = named(layer);
      c.x = sr.ratios;
      for (const double a : accuracy) c.y.push_back(100.0 * a);
      curves.push_back(std::move(c));
    }
    if (!sr.ratios.empty()) {
      const auto [lo, hi] = std::minmax_element(sr.ratios.begin(), sr.ratios.end());
      ChartSeries unpruned = named("unpruned");
      unpruned.x = {*lo, *hi};
      unpruned.y = {100.0 * sr.baseline, 100.0 * sr.baseline};
      unpruned.dashed = true;
      curves.push_back(std::move(unpruned));
    }
    out += section("Sensitivity: " + s.name,
                   chart(line_chart(curves, options("Test top-1 after pruning one layer", axis("pruning ratio"),
                                                    top1_axis()))));
  }
  return out;
}

std::string epoch_accuracy(const RunRecord& record) {
  std::vector<ChartSeries> lines;
  for (const StageRecord& s : record.stages) {
    if (s.epochs.empty()) continue;
    ChartSeries c = named(s.name);
    for (const EpochRecord& e : s.epochs) {
      c.x.push_back(static_cast<double>(e.epoch + 1));
      c.y.push_back(100.0 * e.test_accuracy);
    }
    lines.push_back(std::move(c));
  }
  if (lines.empty()) return "";
  ChartAxis epoch_axis = axis("epoch");
  epoch_axis.integer = true;
  return section("Test accuracy per epoch",
                 chart(line_chart(lines, options("Test top-1 after each epoch", epoch_axis, top1_axis()))));
}

std::string list(const std::string& heading, const std::vector<std::string>& items, bool code) {
  if (items.empty()) return "";
  std::string out = "<p>" + heading + ":</p>\n<ul>\n";
  for (const std::string& item : items)
    out += code ? "<li><code>" + xml_escape(item) + "</code></li>\n" : "<li>" + xml_escape(item) + "</li>\n";
  return out + "</ul>\n";
}

std::string stage_details(const RunRecord& record) {
  std::string out;
  for (const StageRecord& s : record.stages) {
    if (s.notes.empty() && s.files.empty()) continue;
    char seconds[64];
    std::snprintf(seconds, sizeof seconds, "%.1f s", s.seconds);
    out += "<h3>" + xml_escape(s.name) + " <small>(" + xml_escape(s.type) + ", " + seconds + ")</small></h3>\n" +
           list("Notes", s.notes, false) + list("Files", s.files, true);
  }
  return out.empty() ? "" : section("Stages", out);
}

}  // namespace

std::string html_report(const RunRecord& record) {
  const std::string title = "Shrink report: " + record.pipeline;
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + xml_escape(title) +
         "</title>\n<style>\n" + kStyle + "</style>\n</head>\n<body>\n<h1>" + xml_escape(title) +
         "</h1>\n<p class=\"meta\">model <code>" + xml_escape(record.model) + "</code>, " +
         std::to_string(record.stages.size()) + (record.stages.size() == 1 ? " stage" : " stages") + "</p>\n" +
         section("Summary", table(record)) + accuracy_vs_macs(record) + layer_sparsity(record) + sensitivity(record) +
         epoch_accuracy(record) + stage_details(record) + "</body>\n</html>\n";
}

void write_html_report(const RunRecord& record, const std::string& path) {
  io::write_text_atomically(path, "write_html_report", html_report(record));
}

}  // namespace shrink::pipeline
