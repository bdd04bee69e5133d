#include "io/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::io {
namespace {

using testing::error_of;

TEST(Accuracy, TopKCountsMatchPyTorch) {
  for (const char* name : {"batch37_c10", "batch64_c3", "batch5_c100"}) {
    const auto& c = testing::fixture_case("metrics", name);
    const Tensor logits = testing::fixture_tensor(c["inputs"]["logits"]);
    const Tensor targets = testing::fixture_tensor(c["inputs"]["targets"]);
    const auto ks = c["attrs"]["ks"].get<std::vector<std::int64_t>>();
    const auto correct = c["attrs"]["correct"].get<std::vector<std::int64_t>>();
    const std::vector<double> acc = topk_accuracy(logits, targets, ks);
    for (std::size_t q = 0; q < ks.size(); ++q) {
      EXPECT_EQ(correct_topk(logits, targets, ks[q]), correct[q]) << name << " k=" << ks[q];
      EXPECT_DOUBLE_EQ(acc[q], double(correct[q]) / double(logits.size(0))) << name << " k=" << ks[q];
    }
    EXPECT_DOUBLE_EQ(accuracy(logits, targets), double(correct[0]) / double(logits.size(0))) << name;
  }
}

TEST(Accuracy, TiesGoToTheLowerClassAndNaNRanksFirst) {
  const Tensor logits = from_vector(std::vector<float>{1, 1, 0,  //
                                                       1, 1, 0,  //
                                                       0, NAN, 5},
                                    {3, 3});
  EXPECT_EQ(correct_topk(logits, from_vector(std::vector<std::int64_t>{0, 1, 1}, {3}), 1), 2);  // rows 0 and 2
  EXPECT_EQ(correct_topk(logits, from_vector(std::vector<std::int64_t>{1, 1, 2}, {3}), 1), 0);
  EXPECT_EQ(correct_topk(logits, from_vector(std::vector<std::int64_t>{1, 1, 2}, {3}), 2), 3);
  EXPECT_EQ(accuracy(zeros({0, 4}), zeros({0}, DType::Int64)), 0.0);
}

TEST(Accuracy, ErrorsArePinned) {
  const Tensor logits = zeros({4, 10});
  const Tensor targets = zeros({4}, DType::Int64);
  EXPECT_EQ(error_of<ShapeError>([&] { accuracy(logits, zeros({5}, DType::Int64)); }),
            "accuracy: expected logits [N, C] and targets [N], got [4, 10] and [5]");
  EXPECT_EQ(error_of<ShapeError>([&] { accuracy(zeros({4, 10, 1}), targets); }),
            "accuracy: expected logits [N, C] and targets [N], got [4, 10, 1] and [4]");
  EXPECT_EQ(error_of<ValueError>([&] { accuracy(logits, zeros({4})); }),
            "accuracy: expected int64 targets, got float32 (Hint: class indices, e.g. targets.to(DType::Int64))");
  EXPECT_EQ(error_of<ValueError>([&] { accuracy(zeros({4, 10}, DType::Int64), targets); }),
            "accuracy: expected float32 logits, got int64");
  EXPECT_EQ(error_of<ValueError>([&] { correct_topk(logits, targets, 11); }),
            "correct_topk: expected k in [1, 10], got 11");
  EXPECT_EQ(error_of<ValueError>([&] { topk_accuracy(logits, targets, {1, 0}); }),
            "topk_accuracy: expected k in [1, 10], got 0");
  EXPECT_EQ(error_of<IndexError>([&] { accuracy(logits, from_vector(std::vector<std::int64_t>{0, 1, 12, 3}, {4})); }),
            "accuracy: expected targets in [0, 10), got 12 at index 2");
  EXPECT_EQ(error_of<ValueError>([&] { accuracy(Tensor(), targets); }),
            "accuracy: expected defined logits and targets, got an undefined Tensor");
}

TEST(RunningMean, WeightsValues) {
  RunningMean m;
  EXPECT_TRUE(std::isnan(m.mean()));
  m.update(1.0, 3);
  m.update(3.0);
  EXPECT_DOUBLE_EQ(m.mean(), 1.5);
  EXPECT_DOUBLE_EQ(m.count(), 4.0);
  m.update(100.0, 0);
  EXPECT_DOUBLE_EQ(m.mean(), 1.5);
  m.reset();
  EXPECT_TRUE(std::isnan(m.mean()));
  EXPECT_EQ(error_of<ValueError>([&] { m.update(1.0, -1); }), "RunningMean::update: expected a weight >= 0, got -1");
}

TEST(FormatDuration, MinutesSecondsAndHours) {
  EXPECT_EQ(format_duration(0), "00:00");
  EXPECT_EQ(format_duration(75.4), "01:15");
  EXPECT_EQ(format_duration(3600 + 62), "1:01:02");
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::infinity()), "?");
}

/// A clock the test advances by hand.
struct FakeClock {
  double t = 100.0;
  std::function<double()> fn() {
    return [this] { return t; };
  }
};

TEST(Progress, DrawsABarWithEtaRateAndLossOnATerminal) {
  FakeClock clock;
  std::ostringstream out;
  {
    Progress p(4, {.description = "epoch 1", .out = &out, .interactive = true, .bar_width = 8, .clock = clock.fn()});
    clock.t += 2.0;
    p.step(100, 0.5);
    EXPECT_EQ(out.str(), "\repoch 1:  25%|##      | 1/4 [00:02<00:06, 50.0 img/s, loss=0.5000]");
    clock.t += 0.05;  // within the redraw interval: no redraw
    p.step(100, 1.5);
    EXPECT_EQ(out.str(), "\repoch 1:  25%|##      | 1/4 [00:02<00:06, 50.0 img/s, loss=0.5000]");
    clock.t += 1.95;
    p.step(200);  // no loss for this step
    out.str("");
    clock.t += 1.0;
    p.step(100, 2.0);  // the last step always redraws
    EXPECT_EQ(out.str(), "\repoch 1: 100%|########| 4/4 [00:05<00:00, 100.0 img/s, loss=1.3333]");
    out.str("");
    p.finish({{"acc", 0.91234}});
    EXPECT_EQ(p.steps(), 4);
    EXPECT_EQ(p.samples(), 500);
    EXPECT_DOUBLE_EQ(p.mean_loss(), 400.0 / 300.0);  // weighted by samples; the step without loss is left out
  }
  EXPECT_EQ(out.str(), "\repoch 1: 100%|########| 4/4 [00:05<00:00, 100.0 img/s, loss=1.3333, acc=0.9123]\n");
}

TEST(Progress, ClearsTheRestOfALongerPreviousLine) {
  FakeClock clock;
  std::ostringstream out;
  Progress p(0, {.out = &out, .interactive = true, .redraw_interval = 0, .clock = clock.fn()});
  clock.t += 1;
  p.step(10, 123.25);
  const std::string first = "\r1 steps [00:01, 10.0 img/s, loss=123.2500]";
  EXPECT_EQ(out.str(), first);
  clock.t += 1;
  p.step(10, -103.25);  // the mean loss drops to 10: one character shorter
  const std::string second = "\r2 steps [00:02, 10.0 img/s, loss=10.0000] ";
  EXPECT_EQ(out.str(), first + second);
  p.finish();
  EXPECT_EQ(out.str(), first + second + "\r2 steps [00:02, 10.0 img/s, loss=10.0000]\n");
}

TEST(Progress, PrintsOnePlainLineWhenNotATerminal) {
  FakeClock clock;
  std::ostringstream out;
  {
    Progress p(3, {.description = "train", .out = &out, .interactive = false, .clock = clock.fn()});
    for (int i = 0; i < 3; ++i) {
      clock.t += 0.5;
      p.step(128, 0.25 * (i + 1));
    }
    EXPECT_EQ(out.str(), "");  // nothing while the loop runs
  }  // the destructor finishes
  EXPECT_EQ(out.str(), "train: 3/3 steps, 384 images in 1.5 s (256.0 img/s), loss 0.5000\n");
  std::ostringstream out2;
  Progress p(2, {.out = &out2, .interactive = false, .clock = clock.fn()});
  p.step(5);
  p.finish({{"acc", 0.5}});
  p.finish();  // once only
  EXPECT_EQ(out2.str(), "1/2 steps, 5 images in 0.0 s (? img/s), acc 0.5000\n");
}

TEST(Progress, ErrorsArePinned) {
  std::ostringstream out;
  EXPECT_EQ(error_of<ValueError>([&] { Progress(-1, {.out = &out}); }),
            "Progress: expected a total >= 0 (0 = unknown), got -1");
  EXPECT_EQ(error_of<ValueError>([&] { Progress(1, {.out = &out, .bar_width = 0}); }),
            "Progress: expected bar_width >= 1, got 0");
}

}  // namespace
}  // namespace shrink::io
