// Distillation losses against PyTorch (tests/fixtures/distillation.json: values and the gradients
// of both inputs), gradcheck of each, and their shape and option errors.
#include "compression/distillation/losses.h"

#include <gtest/gtest.h>

#include "autograd/error.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::expect_message;
using testing::fixture_case;
using testing::fixture_tensor;

struct Grads {
  Tensor student, teacher;
};

/// Runs backward on `loss` and checks its value and the gradients of both inputs.
void expect_loss_and_grads(const std::string& name, Tensor loss, const Grads& inputs, double atol = 1e-6) {
  SCOPED_TRACE(name);
  const auto& out = fixture_case("distillation", name)["outputs"];
  EXPECT_TENSOR_NEAR(loss.detach(), fixture_tensor(out["loss"]), atol, 1e-5);
  loss.backward();
  EXPECT_TENSOR_NEAR(inputs.student.grad(), fixture_tensor(out["grad_student"]), atol, 1e-5);
  EXPECT_TENSOR_NEAR(inputs.teacher.grad(), fixture_tensor(out["grad_teacher"]), atol, 1e-5);
}

TEST(SoftLabelLoss, HintonMatchesPyTorch) {
  for (const char* name : {"kd_t4_a05", "kd_t1_a0", "kd_t10_a09"}) {
    const auto& c = fixture_case("distillation", name);
    Tensor s = fixture_tensor(c["inputs"]["student"]).requires_grad_();
    Tensor t = fixture_tensor(c["inputs"]["teacher"]).requires_grad_();
    const Tensor y = fixture_tensor(c["inputs"]["targets"]);
    const SoftLabelOptions o{.temperature = c["attrs"]["temperature"], .alpha = c["attrs"]["alpha"]};
    expect_loss_and_grads(name, soft_label_loss(s, t, y, o), {s, t});
  }
}

TEST(SoftLabelLoss, PaddleSlimVariantMatchesPyTorch) {
  for (const char* name : {"paddle_ts2_tt4", "paddle_ts1_tt1_a03"}) {
    const auto& c = fixture_case("distillation", name);
    Tensor s = fixture_tensor(c["inputs"]["student"]).requires_grad_();
    Tensor t = fixture_tensor(c["inputs"]["teacher"]).requires_grad_();
    const Tensor y = fixture_tensor(c["inputs"]["targets"]);
    const SoftLabelOptions o{.alpha = c["attrs"]["alpha"],
                             .paddle = true,
                             .student_temperature = c["attrs"]["student_temperature"],
                             .teacher_temperature = c["attrs"]["teacher_temperature"]};
    expect_loss_and_grads(name, soft_label_loss(s, t, y, o), {s, t});
  }
}

TEST(SoftLabelLoss, IsZeroForIdenticalLogitsWithoutHardLabels) {
  const Tensor logits = from_vector(std::vector<float>{1, 2, 3, -1, 0, 5}, {2, 3});
  EXPECT_NEAR(soft_label_loss(logits, logits, Tensor(), {.temperature = 3, .alpha = 0}).item(), 0.0, 1e-7);
}

TEST(SoftLabelLoss, PassesGradcheck) {
  const Tensor y = from_vector(std::vector<std::int64_t>{2, 0, 1}, {3});
  for (const bool paddle : {false, true}) {
    const SoftLabelOptions o{.temperature = 2, .alpha = 0.3, .paddle = paddle, .student_temperature = 1.5,
                             .teacher_temperature = 3};
    const Tensor s = from_vector(std::vector<float>{0.5f, -1, 2, 0.1f, 0.3f, -0.7f, 1.2f, 0.4f, -0.2f, 0, 1, 2}, {3, 4});
    const Tensor t = from_vector(std::vector<float>{1, 0, -1, 0.5f, 2, 0.2f, -0.3f, 0.1f, 0.9f, -1.1f, 0.6f, 0}, {3, 4});
    const auto r = gradcheck([&](const TensorList& x) { return soft_label_loss(x[0], x[1], y, o); },
                             {s.clone().requires_grad_(), t.clone().requires_grad_()});
    EXPECT_TRUE(r.ok) << (paddle ? "paddle: " : "hinton: ") << r.message;
  }
}

TEST(SoftLabelLoss, ShapeAndOptionErrorsNameBothSides) {
  const Tensor s = zeros({2, 10}), t = zeros({2, 5}), y = zeros({2}, DType::Int64);
  expect_message<ShapeError>([&] { soft_label_loss(s, t, y, {}, {"fc3", "classifier.6"}); },
                             "soft_label_loss: expected logits of the same shape, got the student 'fc3' [2, 10] and "
                             "the teacher 'classifier.6' [2, 5]");
  expect_message<ShapeError>([&] { soft_label_loss(zeros({2, 3, 1}), zeros({2, 3, 1}), y); },
                             "soft_label_loss: expected student logits [N, C], got the student [2, 3, 1]");
  expect_message<ValueError>([&] { soft_label_loss(s, s, Tensor(), {.alpha = 0.5}); },
                             "soft_label_loss: expected Int64 targets [N] (alpha = 0.5 weighs the hard-label "
                             "cross-entropy), got undefined targets");
  expect_message<ShapeError>([&] { soft_label_loss(s, s, zeros({3}, DType::Int64)); },
                             "soft_label_loss: expected targets [2] for logits [2, 10], got [3]");
  expect_message<ValueError>([&] { soft_label_loss(s, s, y, {.temperature = 0}); },
                             "soft_label_loss: expected temperature > 0, got 0");
  expect_message<ValueError>([&] { soft_label_loss(s, s, y, {.alpha = 1.5}); },
                             "soft_label_loss: expected alpha in [0, 1], got 1.5");
  expect_message<ValueError>([&] { soft_label_loss(s, s, y, {.paddle = true, .teacher_temperature = -1}); },
                             "soft_label_loss: expected teacher_temperature > 0, got -1");
}

TEST(L2FeatureLoss, MatchesPyTorch) {
  for (const char* name : {"l2_conv", "l2_linear_w05"}) {
    const auto& c = fixture_case("distillation", name);
    Tensor s = fixture_tensor(c["inputs"]["student"]).requires_grad_();
    Tensor t = fixture_tensor(c["inputs"]["teacher"]).requires_grad_();
    expect_loss_and_grads(name, l2_feature_loss(s, t, c["attrs"]["weight"].get<double>()), {s, t});
  }
}

TEST(L2FeatureLoss, PassesGradcheckAndNamesBothModulesOnAMismatch) {
  const Tensor s = from_vector(std::vector<float>{0.5f, -1, 2, 0.1f, 0.3f, -0.7f}, {2, 3});
  const Tensor t = from_vector(std::vector<float>{1, 0, -1, 0.5f, 2, 0.2f}, {2, 3});
  const auto r = gradcheck([](const TensorList& x) { return l2_feature_loss(x[0], x[1], 0.7); },
                           {s.clone().requires_grad_(), t.clone().requires_grad_()});
  EXPECT_TRUE(r.ok) << r.message;
  expect_message<ShapeError>([] { l2_feature_loss(zeros({2, 6, 8, 8}), zeros({2, 16, 8, 8}), 1, {"conv1", "features.0"}); },
                             "l2_feature_loss: expected features of the same shape, got the student 'conv1' "
                             "[2, 6, 8, 8] and the teacher 'features.0' [2, 16, 8, 8]");
  expect_message<ValueError>([] { l2_feature_loss(zeros({2}), zeros({2}), -1); },
                             "l2_feature_loss: expected weight >= 0, got -1");
}

std::vector<FspPair> fsp_pairs(const nlohmann::json& inputs, const std::string& side, int pairs) {
  std::vector<FspPair> out;
  for (int i = 0; i < pairs; ++i) {
    const std::string key = side + std::to_string(i);
    out.push_back({fixture_tensor(inputs[key + "_a"]).requires_grad_(), fixture_tensor(inputs[key + "_b"]).requires_grad_(),
                   key + "_a", key + "_b"});
  }
  return out;
}

TEST(FspLoss, MatchesPyTorch) {
  for (const char* name : {"fsp_one_pair", "fsp_two_pairs_w2"}) {
    SCOPED_TRACE(name);
    const auto& c = fixture_case("distillation", name);
    const int pairs = c["attrs"]["pairs"];
    const auto student = fsp_pairs(c["inputs"], "student", pairs), teacher = fsp_pairs(c["inputs"], "teacher", pairs);
    EXPECT_TENSOR_NEAR(fsp_matrix(student[0].first, student[0].second).detach(),
                       fixture_tensor(c["outputs"]["fsp_student0"]), 1e-6, 1e-5);
    Tensor loss = fsp_loss(student, teacher, c["attrs"]["weight"].get<double>());
    EXPECT_TENSOR_NEAR(loss.detach(), fixture_tensor(c["outputs"]["loss"]), 1e-6, 1e-5);
    loss.backward();
    for (const auto* list : {&student, &teacher})
      for (const FspPair& p : *list) {
        EXPECT_TENSOR_NEAR(p.first.grad(), fixture_tensor(c["outputs"]["grad_" + p.first_name]), 1e-6, 1e-5);
        EXPECT_TENSOR_NEAR(p.second.grad(), fixture_tensor(c["outputs"]["grad_" + p.second_name]), 1e-6, 1e-5);
      }
  }
}

TEST(FspLoss, PassesGradcheck) {
  auto ramp = [](const Shape& shape, float scale) {
    Tensor t = zeros(shape);
    float* p = t.data<float>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = scale * static_cast<float>((i * 7) % 11 - 5) / 5.0f;
    return t;
  };
  const TensorList inputs{ramp({2, 2, 3, 3}, 1).requires_grad_(), ramp({2, 3, 3, 3}, 0.8f).requires_grad_(),
                          ramp({2, 2, 2, 2}, -0.6f).requires_grad_(), ramp({2, 3, 2, 2}, 1.1f).requires_grad_()};
  const auto r = gradcheck(
      [](const TensorList& x) { return fsp_loss({{x[0], x[1]}}, {{x[2], x[3]}}, 1.5); }, inputs);
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(FspLoss, ShapeErrorsNameTheMaps) {
  expect_message<ShapeError>([] { fsp_matrix(zeros({2, 3, 4, 4}), zeros({2, 5, 2, 2}), {"conv1", "conv2"}); },
                             "fsp_matrix: expected feature maps of the same N, H and W, got 'conv1' [2, 3, 4, 4] and "
                             "'conv2' [2, 5, 2, 2]");
  expect_message<ShapeError>([] { fsp_matrix(zeros({2, 3}), zeros({2, 5, 2, 2})); },
                             "fsp_matrix: expected feature maps [N, C, H, W], got 'a' [2, 3] and 'b' [2, 5, 2, 2]");
  expect_message<ShapeError>(
      [] {
        fsp_loss({{zeros({1, 3, 4, 4}), zeros({1, 5, 4, 4}), "conv1", "conv2"}},
                 {{zeros({1, 4, 4, 4}), zeros({1, 5, 4, 4}), "features.0", "features.3"}});
      },
      "fsp_loss: pair 0: expected FSP matrices of the same shape, got the student's ('conv1', 'conv2') [1, 3, 5] and "
      "the teacher's ('features.0', 'features.3') [1, 4, 5]");
  expect_message<ValueError>([] { fsp_loss({}, {}); }, "fsp_loss: expected at least one pair of feature maps, got none");
  expect_message<ValueError>([] { fsp_loss({{zeros({1, 1, 1, 1}), zeros({1, 1, 1, 1})}}, {}); },
                             "fsp_loss: expected as many teacher pairs as student pairs, got 1 student and 0 teacher pairs");
}

}  // namespace
}  // namespace shrink::compression
