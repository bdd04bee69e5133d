#include "pipeline/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "autograd/error.h"
#include "io/text_table.h"
#include "pipeline/markup.h"

namespace shrink::pipeline {
namespace {

constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr double kCharWidth = 7.0;   // estimated advance of a 12px sans-serif character
constexpr double kLegendRow = 18.0;
constexpr std::size_t kMaxLabel = 32;

const char* colour(std::size_t i) { return kPalette[i % std::size(kPalette)]; }

std::string num(double v) { return svg_number(v); }

/// `text` cut to `most` code points, "..." marking the cut.
std::string shorten(const std::string& text, std::size_t most) {
  if (io::display_width(text) <= most) return text;
  std::string out;
  std::size_t points = 0;
  for (const char c : text) {
    const bool starts = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (starts && ++points > most - 3) break;
    out += c;
  }
  return out + "...";
}

/// A linear axis: [lo, hi] with ticks every `step`, labels scaled to k/M/G for big numbers.
struct Scale {
  double lo = 0, hi = 1, step = 0.2;
  double unit_scale = 1;
  std::string suffix;  // "k", "M", "G" then the axis unit
  std::string unit;    // the axis unit
  int decimals = 1;

  std::vector<double> ticks() const {
    std::vector<double> out;
    const auto first = static_cast<long long>(std::ceil(lo / step - 1e-9));
    const auto last = static_cast<long long>(std::floor(hi / step + 1e-9));
    for (long long k = first; k <= last; ++k) out.push_back(static_cast<double>(k) * step);
    return out;
  }
  std::string label(double v) const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v / unit_scale);
    std::string s = buf;
    if (s.find_first_not_of("-0.") == std::string::npos) s = s.substr(s[0] == '-' ? 1 : 0);
    return s + suffix;
  }
  /// A value as exactly as a tooltip shows it: integers grouped, others with 6 significant digits.
  std::string exact(double v) const {
    if (std::abs(v) < 1e15 && v == std::round(v)) return io::grouped(static_cast<std::int64_t>(v)) + unit;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf + unit;
  }
  /// Fraction of the way from lo to hi.
  double at(double v) const { return (v - lo) / (hi - lo); }
};

double nice_step(double raw) {
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
}

Scale make_scale(std::vector<double> values, const ChartAxis& axis) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
               values.end());
  double lo = axis.min ? *axis.min : values.empty() ? 0.0 : *std::min_element(values.begin(), values.end());
  double hi = axis.max ? *axis.max : values.empty() ? 1.0 : *std::max_element(values.begin(), values.end());
  if (!(hi > lo)) {  // one value (or a bad fixed range): a range around it
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    if (!axis.min || axis.max) lo -= pad;
    hi = lo + 2 * pad;
  }
  Scale s;
  s.step = nice_step((hi - lo) / 5.0);
  if (axis.integer) s.step = std::max(1.0, std::round(s.step));
  s.lo = axis.min ? lo : std::floor(lo / s.step + 1e-9) * s.step;
  s.hi = axis.max ? hi : std::ceil(hi / s.step - 1e-9) * s.step;
  const double big = std::max(std::abs(s.lo), std::abs(s.hi));
  if (big >= 1e10) s.unit_scale = 1e9, s.suffix = "G";
  else if (big >= 1e7) s.unit_scale = 1e6, s.suffix = "M";
  else if (big >= 1e4) s.unit_scale = 1e3, s.suffix = "k";
  const double scaled = s.step / s.unit_scale;
  s.decimals = 0;
  while (s.decimals < 6 && std::abs(std::round(scaled * std::pow(10.0, s.decimals)) - scaled * std::pow(10.0, s.decimals)) >
                               1e-6 * std::pow(10.0, s.decimals))
    ++s.decimals;
  s.suffix += axis.unit;
  s.unit = axis.unit;
  return s;
}

/// The frame shared by the charts: the plot rectangle, the axes and the legend's place.
struct Frame {
  double width = 0, height = 0;
  double left = 0, top = 0, plot_w = 0, plot_h = 0;
  double legend_x = 0;

  double x(const Scale& s, double v) const { return left + plot_w * s.at(v); }
  double y(const Scale& s, double v) const { return top + plot_h * (1.0 - s.at(v)); }
};

Frame make_frame(const ChartOptions& o, const std::vector<std::string>& legend, const Scale& ys,
                 double bottom_extra, double min_left = 0) {
  std::size_t longest = 0;
  for (const auto& name : legend) longest = std::max(longest, io::display_width(shorten(name, kMaxLabel)));
  const double legend_w = legend.empty() ? 0 : 36 + kCharWidth * static_cast<double>(longest);
  const std::size_t tick_chars = std::max(io::display_width(ys.label(ys.lo)), io::display_width(ys.label(ys.hi)));
  Frame f;
  f.left = std::max(min_left, 40 + kCharWidth * static_cast<double>(tick_chars));
  f.top = 40;
  const double right = 16 + legend_w;
  const double bottom = 56 + bottom_extra;
  f.width = std::max<double>(o.width, f.left + right + 240);
  f.height = std::max<double>({static_cast<double>(o.height), f.top + bottom + 160,
                               f.top + 10 + kLegendRow * static_cast<double>(legend.size())});
  f.plot_w = f.width - f.left - right;
  f.plot_h = f.height - f.top - bottom;
  f.legend_x = f.left + f.plot_w + 16;
  return f;
}

std::string open_svg(const Frame& f, const std::string& title) {
  const std::string t = xml_escape(title);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(f.width) + "\" height=\"" + num(f.height) +
         "\" viewBox=\"0 0 " + num(f.width) + " " + num(f.height) + "\" role=\"img\" aria-label=\"" + t +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n<title>" + t + "</title>\n<rect width=\"" + num(f.width) +
         "\" height=\"" + num(f.height) + "\" fill=\"#ffffff\"/>\n<text x=\"" + num(f.width / 2) +
         "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" + t + "</text>\n";
}

/// Horizontal grid lines with the y tick labels, the y axis label and the two axis lines.
std::string y_axis(const Frame& f, const Scale& ys, const ChartAxis& axis) {
  std::string out;
  for (const double v : ys.ticks()) {
    const std::string y = num(f.y(ys, v));
    out += "<line x1=\"" + num(f.left) + "\" y1=\"" + y + "\" x2=\"" + num(f.left + f.plot_w) + "\" y2=\"" + y +
           "\" stroke=\"#e0e0e0\"/>\n<text x=\"" + num(f.left - 6) + "\" y=\"" + y +
           "\" text-anchor=\"end\" dominant-baseline=\"middle\">" + xml_escape(ys.label(v)) + "</text>\n";
  }
  out += "<text transform=\"translate(14 " + num(f.top + f.plot_h / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + xml_escape(axis.label) + "</text>\n";
  const std::string bottom = num(f.top + f.plot_h);
  out += "<line x1=\"" + num(f.left) + "\" y1=\"" + num(f.top) + "\" x2=\"" + num(f.left) + "\" y2=\"" + bottom +
         "\" stroke=\"#333333\"/>\n<line x1=\"" + num(f.left) + "\" y1=\"" + bottom + "\" x2=\"" +
         num(f.left + f.plot_w) + "\" y2=\"" + bottom + "\" stroke=\"#333333\"/>\n";
  return out;
}

std::string x_label(const Frame& f, const ChartAxis& axis) {
  return "<text x=\"" + num(f.left + f.plot_w / 2) + "\" y=\"" + num(f.height - 12) + "\" text-anchor=\"middle\">" +
         xml_escape(axis.label) + "</text>\n";
}

/// A legend entry per name: a line (dashed where asked) or, for bars, a square of its colour.
std::string legend(const Frame& f, const std::vector<std::string>& names, const std::vector<bool>& dashed, bool bars) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const double y = f.top + 6 + kLegendRow * static_cast<double>(i);
    if (bars)
      out += "<rect x=\"" + num(f.legend_x + 4) + "\" y=\"" + num(y - 6) + "\" width=\"12\" height=\"12\" fill=\"" +
             colour(i) + "\"/>\n";
    else
      out += "<line x1=\"" + num(f.legend_x) + "\" y1=\"" + num(y) + "\" x2=\"" + num(f.legend_x + 20) + "\" y2=\"" +
             num(y) + "\" stroke=\"" + colour(i) + "\" stroke-width=\"3\"" +
             (dashed[i] ? " stroke-dasharray=\"5 3\"" : "") + "/>\n";
    out += "<text x=\"" + num(f.legend_x + 26) + "\" y=\"" +
           num(y) + "\" dominant-baseline=\"middle\">" + xml_escape(shorten(names[i], kMaxLabel)) + "<title>" +
           xml_escape(names[i]) + "</title></text>\n";
  }
  return out;
}

}  // namespace

std::string line_chart(const std::vector<ChartSeries>& series, const ChartOptions& options) {
  std::vector<double> xs, ys;
  std::vector<std::string> names;
  std::vector<bool> dashed;
  for (const ChartSeries& s : series) {
    if (s.x.size() != s.y.size() || (!s.labels.empty() && s.labels.size() != s.x.size()))
      throw ValueError("line_chart: series \"" + s.name + "\": expected as many y values and labels (or none) as x values (" +
                       std::to_string(s.x.size()) + "), got " + std::to_string(s.y.size()) + " y values and " +
                       std::to_string(s.labels.size()) + " labels");
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
    names.push_back(s.name);
    dashed.push_back(s.dashed);
  }
  const Scale xscale = make_scale(xs, options.x), yscale = make_scale(ys, options.y);
  const Frame f = make_frame(options, names, yscale, 0);
  std::string out = open_svg(f, options.title) + y_axis(f, yscale, options.y) + x_label(f, options.x);
  const std::string axis_y = num(f.top + f.plot_h);
  for (const double v : xscale.ticks()) {
    const std::string x = num(f.x(xscale, v));
    out += "<line x1=\"" + x + "\" y1=\"" + num(f.top) + "\" x2=\"" + x + "\" y2=\"" + axis_y +
           "\" stroke=\"#f0f0f0\"/>\n<text x=\"" + x + "\" y=\"" + num(f.top + f.plot_h + 18) +
           "\" text-anchor=\"middle\">" + xml_escape(xscale.label(v)) + "</text>\n";
  }
  for (std::size_t i = 0; i < series.size(); ++i) {
    const ChartSeries& s = series[i];
    std::string points, marks;
    for (std::size_t k = 0; k < s.x.size(); ++k) {
      if (!std::isfinite(s.x[k]) || !std::isfinite(s.y[k])) continue;
      const double px = std::clamp(f.x(xscale, s.x[k]), f.left, f.left + f.plot_w);
      const double py = std::clamp(f.y(yscale, s.y[k]), f.top, f.top + f.plot_h);
      if (!points.empty()) points += ' ';
      points += num(px) + "," + num(py);
      marks += "<circle cx=\"" + num(px) + "\" cy=\"" + num(py) + "\" r=\"3.5\" fill=\"" + colour(i) + "\"><title>" +
               xml_escape(s.name + ": " + xscale.exact(s.x[k]) + ", " + yscale.exact(s.y[k])) + "</title></circle>\n";
      if (!s.labels.empty())
        marks += "<text x=\"" + num(px + 6) + "\" y=\"" + num(py - 6) + "\" font-size=\"11\">" +
                 xml_escape(shorten(s.labels[k], kMaxLabel)) + "</text>\n";
    }
    if (s.lines && !points.empty())
      out += "<polyline points=\"" + points + "\" fill=\"none\" stroke=\"" + colour(i) + "\" stroke-width=\"2\"" +
             (s.dashed ? " stroke-dasharray=\"5 3\"" : "") + "/>\n";
    out += marks;
  }
  return out + legend(f, names, dashed, false) + "</svg>\n";
}

std::string bar_chart(const std::vector<std::string>& categories, const std::vector<BarSeries>& series,
                      const ChartOptions& options) {
  std::vector<double> values{0.0};
  std::vector<std::string> names;
  for (const BarSeries& s : series) {
    if (s.values.size() != categories.size())
      throw ValueError("bar_chart: series \"" + s.name + "\": expected one value per category (" +
                       std::to_string(categories.size()) + "), got " + std::to_string(s.values.size()));
    values.insert(values.end(), s.values.begin(), s.values.end());
    names.push_back(s.name);
  }
  std::size_t longest = 0;
  for (const auto& c : categories) longest = std::max(longest, io::display_width(shorten(c, kMaxLabel)));
  const Scale yscale = make_scale(values, options.y);
  ChartOptions sized = options;
  const double group_min = 8.0 + 10.0 * static_cast<double>(std::max<std::size_t>(series.size(), 1));
  sized.width = std::max(options.width, static_cast<int>(std::ceil(group_min * static_cast<double>(categories.size()))) + 200);
  // Category labels slant at 40 degrees: sin(40) ~ 0.64 of their length hangs below the axis and
  // cos(40) ~ 0.77 reaches left of their category, which for the first one must stay in view.
  const double first = categories.empty() ? 0 : static_cast<double>(io::display_width(shorten(categories[0], kMaxLabel)));
  const Frame f = make_frame(sized, names, yscale, 0.64 * kCharWidth * static_cast<double>(longest),
                             0.77 * kCharWidth * first + 8);
  std::string out = open_svg(f, options.title) + y_axis(f, yscale, options.y) + x_label(f, options.x);
  const double group = f.plot_w / static_cast<double>(std::max<std::size_t>(categories.size(), 1));
  const double bar = 0.8 * group / static_cast<double>(std::max<std::size_t>(series.size(), 1));
  const double base = f.y(yscale, std::clamp(0.0, yscale.lo, yscale.hi));
  for (std::size_t c = 0; c < categories.size(); ++c) {
    const double gx = f.left + group * static_cast<double>(c);
    for (std::size_t i = 0; i < series.size(); ++i) {
      const double v = series[i].values[c];
      if (!std::isfinite(v)) continue;
      const double top = std::clamp(f.y(yscale, v), f.top, f.top + f.plot_h);
      out += "<rect x=\"" + num(gx + 0.1 * group + bar * static_cast<double>(i)) + "\" y=\"" +
             num(std::min(top, base)) + "\" width=\"" + num(bar) + "\" height=\"" + num(std::abs(base - top)) +
             "\" fill=\"" + colour(i) + "\"><title>" +
             xml_escape(series[i].name + ", " + categories[c] + ": " + yscale.exact(v)) + "</title></rect>\n";
    }
    const std::string lx = num(gx + group / 2), ly = num(f.top + f.plot_h + 12);
    out += "<text transform=\"translate(" + lx + " " + ly + ") rotate(-40)\" text-anchor=\"end\">" +
           xml_escape(shorten(categories[c], kMaxLabel)) + "<title>" + xml_escape(categories[c]) + "</title></text>\n";
  }
  return out + legend(f, names, std::vector<bool>(names.size(), false), true) + "</svg>\n";
}

}  // namespace shrink::pipeline
