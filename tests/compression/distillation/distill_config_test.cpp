// DistillConfig: the JSON form, its round trip, and every validation error with its JSON path.
#include "compression/distillation/distill_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "tests/support/errors.h"

namespace shrink::compression {
namespace {

using testing::expect_message;

TEST(DistillConfig, ParsesEveryLossAndRoundTrips) {
  const DistillConfig c = DistillConfig::parse(std::string(R"([
      {"loss": "soft_label", "temperature": 3, "alpha": 0.2, "weight": 2},
      {"loss": "l2", "student": "conv2", "teacher": "features.10", "weight": 0.1},
      {"loss": "fsp", "pairs": [{"student": ["conv1", "conv2"], "teacher": ["features.0", "features.3"]}]}])"));
  ASSERT_EQ(c.losses.size(), 3u);
  EXPECT_EQ(c.losses[0].kind, DistillLoss::Kind::SoftLabel);
  EXPECT_EQ(c.losses[0].weight, 2.0);
  EXPECT_EQ(c.losses[0].soft_label.temperature, 3.0);
  EXPECT_EQ(c.losses[0].soft_label.alpha, 0.2);
  EXPECT_FALSE(c.losses[0].soft_label.paddle);
  EXPECT_EQ(c.losses[1].kind, DistillLoss::Kind::L2);
  EXPECT_EQ(c.losses[1].student, "conv2");
  EXPECT_EQ(c.losses[1].teacher, "features.10");
  EXPECT_EQ(c.losses[1].weight, 0.1);
  EXPECT_EQ(c.losses[2].kind, DistillLoss::Kind::Fsp);
  EXPECT_EQ(c.losses[2].weight, 1.0);
  ASSERT_EQ(c.losses[2].pairs.size(), 1u);
  EXPECT_EQ(c.losses[2].pairs[0].student[1], "conv2");
  EXPECT_EQ(c.losses[2].pairs[0].teacher[0], "features.0");
  EXPECT_EQ(DistillConfig::parse(c.to_json()).to_json(), c.to_json());
}

TEST(DistillConfig, PaddleSoftLabelTakesPerSideTemperaturesAndDefaults) {
  const DistillConfig c = DistillConfig::parse(
      std::string(R"([{"loss": "soft_label", "paddle": true, "student_temperature": 2, "teacher_temperature": 5}])"));
  const SoftLabelOptions& o = c.losses[0].soft_label;
  EXPECT_TRUE(o.paddle);
  EXPECT_EQ(o.student_temperature, 2.0);
  EXPECT_EQ(o.teacher_temperature, 5.0);
  EXPECT_EQ(o.alpha, SoftLabelOptions{}.alpha);
  EXPECT_EQ(DistillConfig::parse(c.to_json()).to_json(), c.to_json());
  const DistillConfig d = DistillConfig::parse(std::string(R"([{"loss": "soft_label"}])"));
  EXPECT_EQ(d.losses[0].soft_label.temperature, SoftLabelOptions{}.temperature);
  EXPECT_EQ(d.losses[0].weight, 1.0);
}

void expect_error(const char* json, const char* message) {
  SCOPED_TRACE(json);
  expect_message<ValueError>([&] { DistillConfig::parse(std::string(json)); }, message);
}

TEST(DistillConfig, ErrorsNameTheKey) {
  expect_error(R"({"loss": "l2"})", "distill config: expected a non-empty JSON list of losses, got object");
  expect_error("[]", "distill config: expected a non-empty JSON list of losses, got an empty list");
  expect_error("[3]", "distill config[0]: expected a JSON object describing a loss, got number");
  expect_error(R"([{"weight": 1}])", "distill config[0]: expected a key 'loss' (soft_label, l2 or fsp), got none");
  expect_error(R"([{"loss": "kl"}])", "distill config[0].loss: expected soft_label, l2 or fsp, got 'kl'");
  expect_error(R"([{"loss": 1}])", "distill config[0].loss: expected soft_label, l2 or fsp, got 1");
  expect_error(R"([{"loss": "soft_label", "temprature": 4}])",
               "distill config[0]: unknown key 'temprature' for loss 'soft_label' (known: alpha, loss, paddle, "
               "temperature, weight)");
  expect_error(R"([{"loss": "soft_label", "paddle": true, "temperature": 4}])",
               "distill config[0]: unknown key 'temperature' for loss 'soft_label\" with \"paddle\": true' (known: "
               "alpha, loss, paddle, student_temperature, teacher_temperature, weight)");
  expect_error(R"([{"loss": "soft_label", "paddle": 1}])", "distill config[0].paddle: expected true or false, got 1");
  expect_error(R"([{"loss": "soft_label", "alpha": 2}])", "distill config[0].alpha: expected a number in [0, 1], got 2");
  expect_error(R"([{"loss": "soft_label", "temperature": "4"}])",
               "distill config[0].temperature: expected a number, got \"4\"");
  expect_error(R"([{"loss": "soft_label", "temperature": 0}])",
               "distill config[0].temperature: expected a number > 0, got 0");
  expect_error(R"([{"loss": "soft_label"}, {"loss": "soft_label"}])",
               "distill config[1].loss: expected at most one soft_label loss, got a second one");
  expect_error(R"([{"loss": "l2", "student": "a", "teacher": "b", "weight": -1}])",
               "distill config[0].weight: expected a number >= 0, got -1");
  expect_error(R"([{"loss": "l2", "student": "a"}])",
               "distill config[0]: expected a key 'teacher' (the teacher module whose output is compared), got none");
  expect_error(R"([{"loss": "l2", "student": "", "teacher": "b"}])",
               "distill config[0].student: expected a module name (a non-empty string), got \"\"");
  expect_error(R"([{"loss": "fsp"}])",
               "distill config[0]: expected a key 'pairs' (a list of {\"student\": [a, b], \"teacher\": [a, b]}), got none");
  expect_error(R"([{"loss": "fsp", "pairs": []}])", "distill config[0].pairs: expected a non-empty list of pairs, got []");
  expect_error(R"([{"loss": "fsp", "pairs": [{"student": ["a"], "teacher": ["c", "d"]}]}])",
               "distill config[0].pairs[0].student: expected two module names [first, second], got [\"a\"]");
  expect_error(R"([{"loss": "fsp", "pairs": [{"student": ["a", "b"], "teacher": ["c", 4]}]}])",
               "distill config[0].pairs[0].teacher[1]: expected a module name (a non-empty string), got 4");
  expect_error(R"([{"loss": "fsp", "pairs": [{"student": ["a", "b"]}]}])",
               "distill config[0].pairs[0]: expected a key 'teacher' with two module names, got none");
  expect_error(R"([{"loss": "fsp", "pairs": [{"student": ["a", "b"], "teacher": ["c", "d"], "w": 1}]}])",
               "distill config[0].pairs[0]: unknown key 'w' (known: student, teacher)");
  expect_error(R"([{"loss": "l2", "student": "a", "teacher": "b", "pairs": 1}])",
               "distill config[0]: unknown key 'pairs' for loss 'l2' (known: loss, student, teacher, weight)");
}

TEST(DistillConfig, FileErrorsNameTheFile) {
  EXPECT_THROW(DistillConfig::from_file("/nonexistent/kd.json"), IOError);
  const std::string path = ::testing::TempDir() + "distill_config_test.json";
  std::ofstream(path) << "[{\"loss\": \"l2\"";
  try {
    DistillConfig::from_file(path);
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": distill config: malformed JSON (", 0), 0u) << e.what();
  }
  std::ofstream(path) << R"([{"loss": "l2", "student": "a", "teacher": "b"}])";
  EXPECT_EQ(DistillConfig::from_file(path).losses.at(0).teacher, "b");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace shrink::compression
