// io/text_table.h: alignment, UTF-8 widths, ragged rows, thousands separators and byte units.
#include "io/text_table.h"

#include <gtest/gtest.h>

#include <limits>

namespace shrink::io {
namespace {

TEST(TextTable, PadsEveryColumnToItsWidestCellAndTrimsTrailingSpaces) {
  EXPECT_EQ(text_table({{"name", "n", "note"}, {"a", "1234", ""}, {"longer", "5", "x"}},
                       {Align::Left, Align::Right, Align::Left}),
            "name       n  note\n"
            "a       1234\n"
            "longer     5  x\n");
}

TEST(TextTable, CountsUtf8CodePointsAndPadsShortRows) {
  EXPECT_EQ(display_width("2.0\xC3\x97"), 4u);  // "2.0×"
  EXPECT_EQ(text_table({{"\xC3\x97", "b"}, {"xyz"}}, {}),
            "\xC3\x97    b\n"
            "xyz\n");
}

TEST(TextTable, EmptyRowsGiveEmptyText) { EXPECT_EQ(text_table({}, {}), ""); }

TEST(Grouped, SeparatesThousandsIncludingNegativesAndTheExtremes) {
  EXPECT_EQ(grouped(0), "0");
  EXPECT_EQ(grouped(999), "999");
  EXPECT_EQ(grouped(1000), "1,000");
  EXPECT_EQ(grouped(-1234567), "-1,234,567");
  EXPECT_EQ(grouped(std::numeric_limits<std::int64_t>::min()), "-9,223,372,036,854,775,808");
}

TEST(HumanBytes, UsesBinaryUnitsWithOneDecimal) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1024), "1.0 KiB");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(1024 * 1024 - 1), "1.0 MiB");  // not "1024.0 KiB"
  EXPECT_EQ(human_bytes(5 * 1024 * 1024 + 300 * 1024), "5.3 MiB");
  EXPECT_EQ(human_bytes(std::int64_t{3} << 30), "3.0 GiB");
}

}  // namespace
}  // namespace shrink::io
