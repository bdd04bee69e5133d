// pipeline/svg_chart.h and pipeline/markup.h: escaping, fixed number format, the elements and tick
// labels of line and bar charts, errors on ragged input, and byte-identical output for the same data.
#include "pipeline/svg_chart.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/error.h"
#include "pipeline/markup.h"
#include "tests/pipeline/report_records.h"

namespace shrink::pipeline {
namespace {

using testing::count;
TEST(XmlEscape, EscapesMarkupAndReplacesInvalidUtf8AndControlCharacters) {
  EXPECT_EQ(xml_escape(testing::kHostileLayer), "a&lt;b&gt;&amp;&quot;c&quot;");
  EXPECT_EQ(xml_escape("it's"), "it&#39;s");
  EXPECT_EQ(xml_escape("caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x98\x80");
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(xml_escape("a\xFF" "b"), "a" + fffd + "b");
  EXPECT_EQ(xml_escape("\xC0\xAF"), fffd + fffd);           // overlong '/'
  EXPECT_EQ(xml_escape("\xED\xA0\x80"), fffd + fffd + fffd);  // a surrogate
  EXPECT_EQ(xml_escape("\xE2\x86"), fffd + fffd);           // truncated
  EXPECT_EQ(xml_escape(std::string("x\0y\x01\t\n", 6)), "x" + fffd + "y" + fffd + "\t\n");
}

TEST(SvgNumber, HasTwoDecimalsAndNoNegativeZero) {
  EXPECT_EQ(svg_number(12.5), "12.50");
  EXPECT_EQ(svg_number(-0.001), "0.00");
  EXPECT_EQ(svg_number(-3.14159), "-3.14");
  EXPECT_EQ(svg_number(NAN), "0.00");
  EXPECT_EQ(svg_number(INFINITY), "0.00");
}

ChartOptions options() {
  ChartOptions o;
  o.title = "Accuracy <vs> MACs";
  o.x.label = "MACs per sample";
  o.y.label = "top-1";
  o.y.unit = "%";
  return o;
}

TEST(LineChart, DrawsAPolylineAndMarkersPerSeriesWithTicksAndALegend) {
  const std::vector<ChartSeries> series = {
      {.name = "stages", .x = {101632, 50816}, .y = {88.12, 87.90}, .labels = {"dense", testing::kHostileLayer}},
      {.name = testing::kHostileLayer, .x = {60000, 70000, 80000}, .y = {81, 83, NAN}, .dashed = true}};
  const std::string svg = line_chart(series, options());
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_EQ(count(svg, "<polyline"), 2u);
  EXPECT_EQ(count(svg, "stroke-dasharray"), 2u);  // the dashed series and its legend entry
  EXPECT_EQ(count(svg, "<circle"), 4u);           // the NaN point is left out
  // x from 40k to 120k in steps of 20k; y from 80% to 90% in steps of 2%.
  for (const char* tick : {">40k<", ">60k<", ">120k<", ">80%<", ">82%<", ">90%<"}) EXPECT_NE(svg.find(tick), std::string::npos) << tick;
  EXPECT_NE(svg.find(">Accuracy &lt;vs&gt; MACs</text>"), std::string::npos);
  EXPECT_NE(svg.find(">MACs per sample</text>"), std::string::npos);
  EXPECT_NE(svg.find(">dense</text>"), std::string::npos);
  EXPECT_NE(svg.find("<title>stages: 101,632, 88.12%</title>"), std::string::npos);
  // A point's label, the legend's text and tooltip, the tooltips of the series' two finite points.
  EXPECT_EQ(count(svg, "a&lt;b&gt;&amp;&quot;c&quot;"), 5u);
  EXPECT_EQ(svg.find(testing::kHostileLayer), std::string::npos);
  EXPECT_EQ(svg, line_chart(series, options()));
}

TEST(LineChart, KeepsAFixedRangeAndWidensASinglePoint) {
  ChartOptions o = options();
  o.y.min = 0;
  o.y.max = 100;
  const std::string svg = line_chart({{.name = "one", .x = {3}, .y = {50}}}, o);
  for (const char* tick : {">0%<", ">20%<", ">100%<", ">2.6<", ">3.4<"}) EXPECT_NE(svg.find(tick), std::string::npos) << tick;
  EXPECT_EQ(svg.find(">120%<"), std::string::npos);
  EXPECT_NE(svg.find("<title>one: 3, 50%</title>"), std::string::npos);
}

TEST(LineChart, PutsIntegerTicksOnWholeNumbersOnly) {
  ChartOptions o = options();
  o.x.integer = true;
  const std::string svg = line_chart({{.name = "epochs", .x = {1, 2, 3}, .y = {80, 85, 86}}}, o);
  for (const char* tick : {">1<", ">2<", ">3<"}) EXPECT_NE(svg.find(tick), std::string::npos) << tick;
  EXPECT_EQ(svg.find(">1.5<"), std::string::npos);
  EXPECT_NE(line_chart({{.name = "epochs", .x = {1, 2, 3}, .y = {80, 85, 86}}}, options()).find(">1.5<"),
            std::string::npos);
}

TEST(LineChart, RejectsSeriesOfUnequalLengths) {
  try {
    line_chart({{.name = "s", .x = {1, 2}, .y = {1}}}, options());
    FAIL() << "no error";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(),
                 "line_chart: series \"s\": expected as many y values and labels (or none) as x values (2), got 1 y "
                 "values and 0 labels");
  }
}

TEST(BarChart, DrawsABarPerSeriesPerCategoryWithSlantedShortenedLabels) {
  const std::string long_name = "features.block4.conv_with_a_rather_long_name.weight";
  ChartOptions o = options();
  o.y.max = 100;
  const std::string svg = bar_chart({"fc1", testing::kHostileLayer, long_name},
                                    {{"dense", {0, 0, 0}}, {"prune", {50, 25, 75}}}, o);
  EXPECT_EQ(count(svg, "<rect"), 1u + 6u + 2u);  // the background, the bars, the legend's squares
  EXPECT_EQ(count(svg, "</rect>"), 6u);          // the bars have tooltips
  EXPECT_EQ(count(svg, "rotate(-40)"), 3u);
  EXPECT_NE(svg.find(">features.block4.conv_with_a_r...<title>" + long_name + "</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>prune, a&lt;b&gt;&amp;&quot;c&quot;: 25%</title>"), std::string::npos);
  EXPECT_NE(svg.find(">0%<"), std::string::npos);
  EXPECT_EQ(svg.find(testing::kHostileLayer), std::string::npos);
  EXPECT_EQ(svg, bar_chart({"fc1", testing::kHostileLayer, long_name}, {{"dense", {0, 0, 0}}, {"prune", {50, 25, 75}}}, o));
}

TEST(BarChart, LeavesRoomLeftOfTheAxisForTheFirstSlantedLabel) {
  // 32 characters slanted at 40 degrees reach about 0.77 * 7 * 32 = 172 pixels left of their bar.
  const std::string svg = bar_chart({std::string(40, 'x'), "b"}, {{"s", {1, 2}}}, options());
  EXPECT_NE(svg.find("<line x1=\"180.48\" y1=\"40.00\" x2=\"180.48\""), std::string::npos);  // the y axis
}

TEST(BarChart, RejectsASeriesWithoutOneValuePerCategory) {
  try {
    bar_chart({"a", "b"}, {{"s", {1}}}, options());
    FAIL() << "no error";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "bar_chart: series \"s\": expected one value per category (2), got 1");
  }
}

}  // namespace
}  // namespace shrink::pipeline
