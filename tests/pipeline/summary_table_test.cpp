// pipeline/summary_table.h: the exact text of a hand-built run, and "-" for everything absent.
#include "pipeline/summary_table.h"

#include <gtest/gtest.h>

#include "tests/pipeline/report_records.h"

namespace shrink::pipeline {
namespace {

TEST(SummaryTable, PrintsTheBaselineThenOneAlignedRowPerStage) {
  EXPECT_EQ(summary_table(testing::sample_run()),
            "stage     type         epochs   top-1  params (x fewer)   MACs (x fewer)       file  latency (ms)\n"
            "baseline  -            -       10.00%           101,770          101,632          -             -\n"
            "dense     train        1-2     88.12%   101,770 (1.00x)  101,632 (1.00x)          -         0.051\n"
            "sens      sensitivity  -       88.12%   101,770 (1.00x)  101,632 (1.00x)          -             -\n"
            "prune     prune        3       87.90%    50,885 (2.00x)   50,816 (2.00x)          -             -\n"
            "export    export       -            -    50,885 (2.00x)   50,816 (2.00x)  203.1 KiB         0.032\n");
}

TEST(SummaryTable, ShowsADashForEveryAbsentValueAndMarksAStageThatIsRunning) {
  EXPECT_EQ(summary_table(testing::empty_run()),
            "stage            type   epochs  top-1  params (x fewer)  MACs (x fewer)  file  latency (ms)\n"
            "baseline         -      -           -                 -               -     -             -\n"
            "dense (running)  train  1-5         -                 -               -     -             -\n");
}

TEST(SummaryTable, DividesByTheBaselineOnlyWhenItIsKnown) {
  RunRecord r = testing::sample_run();
  r.baseline_params = 0;
  r.baseline_macs = 203264;
  const auto rows = summary_rows(r);
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[4][4], "50,885");
  EXPECT_EQ(rows[4][5], "50,816 (4.00x)");
  EXPECT_EQ(rows[1][4], "-");
}

TEST(SummaryTable, RowsHaveAsManyCellsAsTheHeaderAndNumericColumns) {
  for (const auto& row : summary_rows(testing::sample_run())) EXPECT_EQ(row.size(), summary_numeric_columns().size());
}

}  // namespace
}  // namespace shrink::pipeline
