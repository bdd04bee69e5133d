// pipeline/html_report.h: the sections of a hand-built run's report, escaping, no network
// references, determinism, the atomic write and its error; rendering with headless Chromium
// where one is installed (skipped otherwise).
#include "pipeline/html_report.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "autograd/error.h"
#include "tests/io/temp_dir.h"
#include "tests/pipeline/report_records.h"

namespace shrink::pipeline {
namespace {

using testing::count;
using testing::has;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The first Chromium (or Chrome) executable on PATH; empty when there is none.
std::string find_chromium() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');)
    for (const char* name : {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}) {
      const std::string candidate = (std::filesystem::path(dir.empty() ? "." : dir) / name).string();
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  return "";
}

/// Runs `command` through the shell; its exit status and standard output.
std::pair<int, std::string> run(const std::string& command) {
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(HtmlReport, HasTheTitleTableAndEveryChartOfAFullRun) {
  const std::string html = html_report(testing::sample_run());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n", 0), 0u);
  EXPECT_TRUE(has(html, "<title>Shrink report: demo.json</title>"));
  EXPECT_TRUE(has(html, "model <code>naive</code>, 4 stages"));
  // The summary: a header row and baseline + 4 stage rows, numbers right-aligned.
  EXPECT_EQ(count(html, "<tr>"), 6u);
  EXPECT_TRUE(has(html, "<tr><td>export</td><td>export</td><td>-</td><td class=\"num\">-</td><td class=\"num\">50,885 "
                        "(2.00x)</td><td class=\"num\">50,816 (2.00x)</td><td class=\"num\">203.1 KiB</td><td "
                        "class=\"num\">0.032</td></tr>"));
  for (const char* heading : {"<h2>Summary</h2>", "<h2>Accuracy vs MACs</h2>", "<h2>Per-layer sparsity</h2>",
                              "<h2>Sensitivity: sens</h2>", "<h2>Test accuracy per epoch</h2>", "<h2>Stages</h2>"})
    EXPECT_EQ(count(html, heading), 1u) << heading;
  EXPECT_EQ(count(html, "<svg "), 4u);
  EXPECT_EQ(count(html, "</svg>"), 4u);
  // Accuracy vs MACs: the baseline and the three stages with an accuracy (export has none).
  EXPECT_TRUE(has(html, "<title>top-1 after each stage: 101,632, 10%</title>"));
  EXPECT_TRUE(has(html, "<title>top-1 after each stage: 50,816, 87.9%</title>"));
  EXPECT_TRUE(has(html, ">dense, sens</text>"));  // one point, two stages
  // Sparsity: a bar per layer for each of the two stages with layer rows.
  EXPECT_TRUE(has(html, "<title>prune, fc1: 50%</title></rect>"));
  EXPECT_TRUE(has(html, "<title>dense, fc1: 0%</title></rect>"));
  // Sensitivity: the two layers' curves and the unpruned line; epochs 1-based.
  EXPECT_TRUE(has(html, "<title>fc1: 0.5, 80%</title>"));
  EXPECT_TRUE(has(html, "<title>unpruned: 0.1, 88.12%</title>"));
  EXPECT_TRUE(has(html, "<title>dense: 1, 84.01%</title>"));
  EXPECT_TRUE(has(html, "<title>prune: 3, 87.9%</title>"));
  // Notes and files.
  EXPECT_TRUE(has(html, "<li>fine-tuned with masks &lt;fixed&gt;</li>"));
  EXPECT_TRUE(has(html, "<li><code>export.masks.h5</code></li>"));
  EXPECT_TRUE(has(html, "<h3>export <small>(export, 0.0 s)</small></h3>"));
  EXPECT_FALSE(has(html, "<h3>dense"));  // no notes, no files
}

TEST(HtmlReport, EscapesEveryUserTextAndReferencesNothingOutside) {
  RunRecord r = testing::sample_run();
  r.pipeline = "<script>alert(1)</script>.json";
  r.stages[2].files.push_back("x\" onload=\"y");
  const std::string html = html_report(r);
  EXPECT_FALSE(has(html, testing::kHostileLayer));
  EXPECT_TRUE(has(html, "a&lt;b&gt;&amp;&quot;c&quot;"));
  EXPECT_FALSE(has(html, "<script"));
  EXPECT_TRUE(has(html, "&lt;script&gt;alert(1)&lt;/script&gt;.json"));
  EXPECT_FALSE(has(html, "x\" onload"));
  // The only URL is the SVG namespace, once per chart; nothing is loaded from anywhere.
  EXPECT_EQ(count(html, "http"), count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  for (const char* external : {"src=", "href=", "@import", "url(", "<link", "<script"})
    EXPECT_FALSE(has(html, external)) << external;
}

TEST(HtmlReport, IsTheSameBytesForTheSameRecord) {
  EXPECT_EQ(html_report(testing::sample_run()), html_report(testing::sample_run()));
}

TEST(HtmlReport, LeavesOutEmptySections) {
  const std::string html = html_report(testing::empty_run());
  EXPECT_TRUE(has(html, "<h2>Summary</h2>"));
  EXPECT_TRUE(has(html, "<td>dense (running)</td>"));
  EXPECT_EQ(count(html, "<h2>"), 1u);
  EXPECT_FALSE(has(html, "<svg"));
}

// Opens the report offline in headless Chromium: the screenshot is a non-empty PNG and the DOM
// Chromium built holds the four charts with their elements (the markup parsed as SVG, not text).
TEST(HtmlReport, RendersInHeadlessChromium) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "no chromium on PATH (Debian: apt-get install chromium)";
  shrink::testing::TempDir dir;
  const std::string report = dir.file("report.html"), png = dir.file("report.png");
  write_html_report(testing::sample_run(), report);
  const std::string browser = "timeout 120 '" + chromium + "' --headless --no-sandbox --disable-gpu --no-first-run " +
                              "--user-data-dir='" + dir.file("profile") + "' ";
  const std::string url = "'file://" + report + "' 2>/dev/null";
  const auto [shot_status, shot_out] = run(browser + "--window-size=1200,2000 --screenshot='" + png + "' " + url);
  ASSERT_EQ(shot_status, 0) << shot_out;
  const std::string image = read_file(png);
  ASSERT_GT(image.size(), 1000u);
  EXPECT_EQ(image.substr(0, 8), "\x89PNG\r\n\x1a\n");
  const auto [dom_status, dom] = run(browser + "--dump-dom " + url);
  ASSERT_EQ(dom_status, 0);
  EXPECT_EQ(count(dom, "<svg "), 4u);
  EXPECT_EQ(count(dom, "<polyline "), 1u + 3u + 2u);  // accuracy vs MACs, sensitivity, epochs
  EXPECT_EQ(count(dom, "<rect "), 4u + 4u + 2u);      // 4 backgrounds, 4 sparsity bars, 2 legend squares
  EXPECT_TRUE(has(dom, "<h2>Per-layer sparsity</h2>"));
  EXPECT_TRUE(has(dom, "a&lt;b&gt;&amp;\"c\""));  // the DOM's own serialisation of the layer name
}

TEST(WriteHtmlReport, WritesTheReportAtomically) {
  shrink::testing::TempDir dir;
  const std::string path = dir.file("report.html");
  write_html_report(testing::sample_run(), path);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), html_report(testing::sample_run()));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"report.html"});
}

TEST(WriteHtmlReport, NamesThePathWhenItCannotWrite) {
  shrink::testing::TempDir dir;
  const std::string path = dir.file("missing/report.html");
  try {
    write_html_report(testing::sample_run(), path);
    FAIL() << "no error";
  } catch (const IOError& e) {
    EXPECT_EQ(std::string(e.what()), "write_html_report: cannot write '" + path + "': No such file or directory");
  }
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace shrink::pipeline
