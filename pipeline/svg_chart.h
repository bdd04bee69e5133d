#pragma once
/// \file
/// Small chart builders for report.html: each returns one self-contained inline `<svg>` element
/// (no scripts, no external fonts or stylesheets, generic `sans-serif` text) with a title, axes
/// with ticks and labels, grid lines and a legend. Every text (titles, series and category
/// names) is XML-escaped, every coordinate has two decimals, so the same data always gives the
/// same bytes. Non-finite values are left out.
///
/// \code
///   ChartOptions o{.title = "Sensitivity", .x = {.label = "pruning ratio"},
///                  .y = {.label = "top-1", .unit = "%"}};
///   std::string svg = line_chart({{.name = "conv1", .x = {0.1, 0.5}, .y = {91.0, 80.5}}}, o);
/// \endcode

#include <optional>
#include <string>
#include <vector>

namespace shrink::pipeline {

struct ChartAxis {
  std::string label;
  std::string unit;             ///< appended to every tick label, e.g. "%"
  std::optional<double> min;    ///< fixed range; default: the data's, widened to whole ticks
  std::optional<double> max;
  bool integer = false;         ///< ticks on whole numbers only (epochs)
};

struct ChartOptions {
  std::string title;
  ChartAxis x, y;
  int width = 720;              ///< pixels; grown when the labels or the legend need more
  int height = 360;
};

/// A series of (x, y) points; `labels` (empty or one per point) are written beside the points.
struct ChartSeries {
  std::string name;
  std::vector<double> x, y;
  std::vector<std::string> labels;
  bool lines = true;            ///< join the points in order (false: markers only)
  bool dashed = false;
};

/// Points and polylines on linear axes, one colour per series (a palette of ten, cycled), each
/// point with a tooltip `<title>` "series: x, y". ValueError when a series' x and y (or labels)
/// differ in length.
std::string line_chart(const std::vector<ChartSeries>& series, const ChartOptions& options);

/// One value per category per series.
struct BarSeries {
  std::string name;
  std::vector<double> values;
};

/// Grouped bars: a group per category (labels slanted under the axis, shortened to 32 characters
/// with the full name in a tooltip), a bar per series in legend order; the y axis starts at 0
/// unless options.y.min says otherwise. ValueError when a series has not one value per category.
std::string bar_chart(const std::vector<std::string>& categories, const std::vector<BarSeries>& series,
                      const ChartOptions& options);

}  // namespace shrink::pipeline
