#include "io/state_dict_diff.h"

#include <gtest/gtest.h>

namespace shrink::io {
namespace {

StateDict dict(const std::vector<std::pair<std::string, Tensor>>& entries) {
  StateDict sd;
  for (const auto& [k, t] : entries) sd.insert(k, t);
  return sd;
}

TEST(StateDictDiff, EqualKeysShapesAndDtypesAreEmpty) {
  const StateDict a = dict({{"w", zeros({2, 3})}, {"n", zeros({}, DType::Int64)}});
  const StateDict b = dict({{"n", ones({}, DType::Int64)}, {"w", ones({2, 3})}});  // order and values do not matter
  const StateDictDiff d = diff_state_dicts(a, b);
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.message(), "");
}

TEST(StateDictDiff, ReportsMissingUnexpectedAndMismatchedTogether) {
  const StateDict expected = dict({{"a", zeros({2})}, {"b", zeros({3, 4})}, {"c", zeros({1}, DType::Int64)}});
  const StateDict got = dict({{"z", zeros({1})}, {"b", zeros({4, 3})}, {"c", zeros({1}, DType::Int8)}});
  const StateDictDiff d = diff_state_dicts(expected, got);
  EXPECT_FALSE(d.empty());
  EXPECT_EQ(d.missing, std::vector<std::string>{"a"});
  EXPECT_EQ(d.unexpected, std::vector<std::string>{"z"});
  ASSERT_EQ(d.mismatched.size(), 2u);
  EXPECT_EQ(d.mismatched[0].key, "b");
  EXPECT_EQ(d.mismatched[0].expected_shape, (Shape{3, 4}));
  EXPECT_EQ(d.mismatched[0].got_shape, (Shape{4, 3}));
  EXPECT_EQ(d.mismatched[1].expected_dtype, "int64");
  EXPECT_EQ(d.mismatched[1].got_dtype, "int8");
  EXPECT_EQ(d.message(),
            "missing keys: a; unexpected keys: z; shape/dtype mismatch: b (expected [3, 4] float32, got [4, 3] "
            "float32), c (expected [1] int64, got [1] int8)");
}

TEST(StateDictDiff, CapsEachListWithACount) {
  StateDict expected;
  for (int i = 0; i < 47; ++i) expected.insert("p" + std::to_string(i), zeros({1}));
  const StateDictDiff d = diff_state_dicts(expected, StateDict{});
  EXPECT_EQ(d.missing.size(), 47u);
  EXPECT_EQ(d.message(), "missing keys: p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, ... and 37 more");
  EXPECT_EQ(d.message(2), "missing keys: p0, p1, ... and 45 more");
  EXPECT_EQ(d.message(0), "missing keys: ... and 47 more");
  EXPECT_EQ(d.message(47), d.message(100));
}

TEST(StateDictDiff, ComparesFileEntrySpecsWithTypesTensorsDoNotHave) {
  const std::vector<EntrySpec> got{{"w", {2}, "float64"}};
  const StateDictDiff d = diff_entries(entry_specs(dict({{"w", zeros({2})}})), got);
  EXPECT_EQ(d.message(), "shape/dtype mismatch: w (expected [2] float32, got [2] float64)");
}

}  // namespace
}  // namespace shrink::io
