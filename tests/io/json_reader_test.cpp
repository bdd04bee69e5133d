// JsonReader: typed getters with JSON paths in every message; bounded parsing and reading.
#include "io/json_reader.h"

#include <gtest/gtest.h>

#include "autograd/error.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"

namespace shrink::io {
namespace {

using nlohmann::json;
using testing::expect_message;
using testing::TempDir;

const json kDoc = json::parse(R"({"stages": [{"lr": 0.5, "n": 3, "name": "dense", "on": true,
                                   "kinds": ["a", "b"], "r": [0.1, 0.5], "seed": 18446744073709551615}]})");

JsonReader stage() { return JsonReader(kDoc, "demo.json").required("stages", "the stages").at(0); }

TEST(JsonReader, PathsJoinKeysWithDotsAndIndicesWithBrackets) {
  const JsonReader r = stage();
  EXPECT_EQ(r.path(), "stages[0]");
  EXPECT_EQ(r.where(), "demo.json: stages[0]");
  EXPECT_EQ(r.find("lr")->path(), "stages[0].lr");
  EXPECT_EQ(JsonReader(kDoc, "demo.json").where(), "demo.json");
  EXPECT_FALSE(r.find("missing").has_value());
  EXPECT_EQ(r.path_of("features.0"), "stages[0][\"features.0\"]");
  EXPECT_EQ(JsonReader(kDoc, "demo.json").path_of("a b"), "[\"a b\"]");
}

TEST(JsonReader, TypedGettersReturnTheValues) {
  const JsonReader r = stage();
  EXPECT_DOUBLE_EQ(r.find("lr")->number(NumberRange::half_open(0, 1)), 0.5);
  EXPECT_EQ(r.find("n")->integer(0, 10), 3);
  EXPECT_EQ(r.find("name")->string(), "dense");
  EXPECT_EQ(r.find("name")->one_of({"dense", "sparse"}), "dense");
  EXPECT_TRUE(r.find("on")->boolean());
  EXPECT_EQ(r.find("kinds")->string_list(1, 5, {"a", "b", "c"}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.find("r")->number_list(1, 5, NumberRange::open(0, 1)), (std::vector<double>{0.1, 0.5}));
  EXPECT_EQ(r.find("seed")->unsigned_integer(), 18446744073709551615ull);
}

TEST(JsonReader, ANumberOutOfRangeNamesThePathAndTheRange) {
  expect_message<ValueError>([] { stage().find("lr")->number(NumberRange::above(1)); },
                             "demo.json: stages[0].lr: expected a number > 1, got 0.5");
  expect_message<ValueError>([] { stage().find("lr")->number(NumberRange::half_open(0, 0.5)); },
                             "demo.json: stages[0].lr: expected a number in [0, 0.5), got 0.5");
  expect_message<ValueError>([] { stage().find("lr")->number(NumberRange::at_least(1e-5 + 1)); },
                             "demo.json: stages[0].lr: expected a number >= 1.00001, got 0.5");
}

TEST(JsonReader, AStringWhereANumberBelongsIsShownWithItsKind) {
  expect_message<ValueError>([] { stage().find("name")->number(); },
                             "demo.json: stages[0].name: expected a finite number, got \"dense\" (a string)");
}

TEST(JsonReader, AnIntegerOutOfRangeNamesTheRange) {
  expect_message<ValueError>([] { stage().find("n")->integer(4, 9); },
                             "demo.json: stages[0].n: expected an integer in [4, 9], got 3");
  expect_message<ValueError>([] { stage().find("n")->integer(5); },
                             "demo.json: stages[0].n: expected an integer >= 5, got 3");
}

TEST(JsonReader, ANumberWithAFractionIsNotAnInteger) {
  expect_message<ValueError>([] { stage().find("lr")->integer(0); },
                             "demo.json: stages[0].lr: expected an integer >= 0, got 0.5");
}

TEST(JsonReader, AnIntegerBeyondInt64IsOutOfRange) {
  expect_message<ValueError>([] { stage().find("seed")->integer(0); },
                             "demo.json: stages[0].seed: expected an integer >= 0, got 18446744073709551615");
}

TEST(JsonReader, ANegativeIntegerIsNotUnsigned) {
  const json doc = {{"seed", -1}};
  expect_message<ValueError>([&] { JsonReader(doc, "f").find("seed")->unsigned_integer(); },
                             "f: seed: expected an integer >= 0, got -1");
}

TEST(JsonReader, AnEmptyStringIsRefusedUnlessAllowed) {
  const json doc = {{"name", ""}};
  expect_message<ValueError>([&] { JsonReader(doc, "f").find("name")->string(); },
                             "f: name: expected a non-empty string, got \"\"");
  EXPECT_EQ(JsonReader(doc, "f").find("name")->string(true), "");
}

TEST(JsonReader, ANameOutsideTheAllowedOnesListsThemAndHintsTheClosest) {
  const json doc = {{"pruner", "l3norm"}};
  expect_message<ValueError>([&] { JsonReader(doc, "demo.json").find("pruner")->one_of({"level", "l1norm", "l2norm"}); },
                             "demo.json: pruner: expected one of level, l1norm, l2norm, got \"l3norm\" "
                             "(Hint: did you mean \"l1norm\"?)");
}

TEST(JsonReader, ANameFarFromEveryAllowedOneGetsNoHint) {
  const json doc = {{"pruner", "magnitude"}};
  expect_message<ValueError>([&] { JsonReader(doc, "f").find("pruner")->one_of({"level", "fpgm"}); },
                             "f: pruner: expected one of level, fpgm, got \"magnitude\"");
}

TEST(JsonReader, AnUnknownKeyIsReportedAtItsPathWithTheAllowedKeys) {
  expect_message<ValueError>([] { stage().object({"lr", "n", "name", "on", "kind", "r", "seed"}); },
                             "demo.json: stages[0].kinds: expected a key among lr, n, name, on, kind, r, seed, "
                             "got an unknown key (Hint: did you mean \"kind\"?)");
}

TEST(JsonReader, ANonObjectWhereAnObjectBelongsIsShown) {
  expect_message<ValueError>([] { stage().find("kinds")->object({"a"}, "an object {\"zoo\": name}"); },
                             "demo.json: stages[0].kinds: expected an object {\"zoo\": name}, got [\"a\",\"b\"] (a list)");
}

TEST(JsonReader, AMissingRequiredKeyIsNamedWithWhatItHolds) {
  expect_message<ValueError>([] { stage().required("type", "the stage's type"); },
                             "demo.json: stages[0]: expected a key 'type' (the stage's type), got none");
}

TEST(JsonReader, ListSizesAreBounded) {
  expect_message<ValueError>([] { stage().find("kinds")->list(3, 5, "a list of kinds"); },
                             "demo.json: stages[0].kinds: expected a list of kinds with at least 3 entries, got 2");
  expect_message<ValueError>([] { stage().find("kinds")->list(0, 1, "a list of kinds"); },
                             "demo.json: stages[0].kinds: expected a list of kinds with at most 1 entry, got 2");
  expect_message<ValueError>([] { stage().find("n")->list(0, 1, "a list of kinds"); },
                             "demo.json: stages[0].n: expected a list of kinds, got 3");
}

TEST(JsonReader, ANameTwiceInAListIsRefused) {
  const json doc = {{"exports", {"model", "model"}}};
  expect_message<ValueError>([&] { JsonReader(doc, "f").find("exports")->string_list(1, 5, {"model", "masks"}); },
                             "f: exports[1]: expected each name once, got \"model\" again");
}

TEST(JsonReader, BooleansAreOnlyTrueOrFalse) {
  expect_message<ValueError>([] { stage().find("n")->boolean(); }, "demo.json: stages[0].n: expected true or false, got 3");
}

TEST(JsonReader, MalformedJsonGivesLineAndColumn) {
  expect_message<ValueError>([] { parse_json_text("{\n  \"a\": 1,\n  \"b\" 2\n}", "demo.json"); },
                             "demo.json: malformed JSON at line 3, column 7: syntax error while parsing object "
                             "separator - unexpected number literal; expected ':'");
}

TEST(JsonReader, ANumberBeyondDoubleRangeIsMalformed) {
  expect_message<ValueError>([] { parse_json_text("[1e400]", "demo.json"); },
                             "demo.json: malformed JSON: number overflow parsing '1e400'");
}

TEST(JsonReader, DeepNestingIsRefusedBeforeParsing) {
  expect_message<ValueError>([] { parse_json_text(std::string(1'000'000, '['), "demo.json", 64); },
                             "demo.json: expected JSON nested at most 64 levels deep, got more");
  EXPECT_EQ(parse_json_text("[[1]]", "demo.json", 2), json::parse("[[1]]"));
}

TEST(JsonReader, ReadingAMissingFileIsAnIOError) {
  TempDir dir;
  const std::string path = dir.file("none.json");
  expect_message<IOError>([&] { read_text_file(path, "pipeline file", 100); },
                          (path + ": cannot open the pipeline file for reading").c_str());
}

TEST(JsonReader, AFileAboveTheSizeLimitIsAnIOError) {
  TempDir dir;
  const std::string path = dir.write_bytes("big.json", std::string(101, ' '));
  expect_message<IOError>([&] { read_text_file(path, "pipeline file", 100); },
                          (path + ": expected a pipeline file of at most 100 bytes, got more").c_str());
  expect_message<IOError>([&] { read_text_file(path, "pipeline file", 0); },
                          (path + ": expected a pipeline file of at most 0 bytes, got more").c_str());
  EXPECT_EQ(read_text_file(path, "pipeline file", 101), std::string(101, ' '));
}

TEST(JsonReader, ClosestNameNeedsAtMostTwoEdits) {
  EXPECT_EQ(closest_name("epoch", {"epochs", "name"}), "epochs");
  EXPECT_EQ(closest_name("x", {"y"}), "");
  EXPECT_EQ(closest_name("training", {"type", "name"}), "");
}

}  // namespace
}  // namespace shrink::io
