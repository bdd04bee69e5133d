// Distiller: the total loss equals the losses of the tapped features, the teacher runs in eval
// mode without a graph, misuse and mismatched shapes fail naming the modules, and distillation
// trains a pruned (masks stay) or quantized student.
#include "compression/distillation/distiller.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/config_list.h"
#include "compression/pruning/weight_pruners.h"
#include "compression/quantization/qat_quantizer.h"
#include "nn/layers.h"
#include "nn/optim/sgd.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::expect_message;

/// conv 1→4 (0), relu, conv 4→4 (2), relu, flatten, linear 144→3 (5) on [N, 1, 6, 6].
std::shared_ptr<nn::Sequential> small_student() {
  return std::make_shared<nn::Sequential>(nn::Sequential{
      std::make_shared<nn::Conv2d>(1, 4, 3, 1, 1), std::make_shared<nn::ReLU>(), std::make_shared<nn::Conv2d>(4, 4, 3, 1, 1),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(144, 3)});
}

/// conv 1→8 (0), BN (1), relu, conv 8→4 (3), relu (4), dropout (5), flatten, linear 144→3 (7).
std::shared_ptr<nn::Sequential> small_teacher() {
  return std::make_shared<nn::Sequential>(nn::Sequential{
      std::make_shared<nn::Conv2d>(1, 8, 3, 1, 1), std::make_shared<nn::BatchNorm2d>(8), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Conv2d>(8, 4, 3, 1, 1), std::make_shared<nn::ReLU>(), std::make_shared<nn::Dropout>(0.5f),
      std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(144, 3)});
}

const char* kAllLosses = R"([
    {"loss": "soft_label", "temperature": 2, "alpha": 0.4, "weight": 1.5},
    {"loss": "l2", "student": "2", "teacher": "3", "weight": 0.3},
    {"loss": "fsp", "weight": 2, "pairs": [{"student": ["0", "2"], "teacher": ["3", "4"]}]}])";

/// The outputs of the first `n` modules of a Sequential run one by one.
std::vector<Tensor> run_prefix(nn::Sequential& seq, const Tensor& x, std::size_t n) {
  std::vector<Tensor> out;
  Tensor h = x;
  for (std::size_t i = 0; i < n; ++i) out.push_back(h = (*seq.find_module(std::to_string(i)))(h));
  return out;
}

TEST(Distiller, LossIsTheSumOfTheConfiguredTermsOnTheTappedFeatures) {
  manual_seed(1);
  auto student = small_student();
  auto teacher = small_teacher();
  Distiller distiller(student, teacher, DistillConfig::parse(std::string(kAllLosses)));
  const Tensor x = randn({5, 1, 6, 6});
  const Tensor y = from_vector(std::vector<std::int64_t>{0, 2, 1, 1, 0}, {5});
  const Tensor logits = (*student)(x);
  const Tensor loss = distiller.loss(x, logits, y);

  const auto s = run_prefix(*student, x, 6);
  std::vector<Tensor> t;
  {
    NoGradGuard no_grad;
    teacher->eval();
    t = run_prefix(*teacher, x, 8);
  }
  const double soft = soft_label_loss(s[5], t[7], y, {.temperature = 2, .alpha = 0.4}).item();
  const double l2 = l2_feature_loss(s[2], t[3], 0.3).item();
  const double fsp = fsp_loss({{s[0], s[2]}}, {{t[3], t[4]}}, 2).item();
  EXPECT_NEAR(loss.item(), 1.5 * soft + l2 + fsp, 1e-5);
  ASSERT_EQ(distiller.last_terms().size(), 3u);
  EXPECT_EQ(distiller.last_terms()[1].first, "l2[2|3]");
  EXPECT_NEAR(distiller.last_terms()[0].second, 1.5 * soft, 1e-5);
  EXPECT_NEAR(distiller.last_terms()[1].second, l2, 1e-6);
  EXPECT_NEAR(distiller.last_terms()[2].second, fsp, 1e-6);
  EXPECT_TENSOR_NEAR(distiller.teacher_logits(), t[7], 1e-6, 1e-6);
}

TEST(Distiller, TeacherRunsInEvalModeWithoutAGraph) {
  manual_seed(2);
  auto student = small_student();
  auto teacher = small_teacher();
  teacher->train();
  Distiller distiller(student, teacher, DistillConfig::parse(std::string(kAllLosses)));
  const Tensor x = randn({4, 1, 6, 6});
  const Tensor y = zeros({4}, DType::Int64);
  const Tensor running_mean = teacher->find_module("1")->buffer("running_mean").clone();
  teacher->train();  // the distiller puts it back in eval mode
  Tensor first = distiller.loss(x, (*student)(x), y);
  EXPECT_FALSE(teacher->is_training());
  EXPECT_FALSE(distiller.teacher_logits().requires_grad());
  // Dropout off and BatchNorm statistics untouched: the same teacher output twice.
  const Tensor teacher_first = distiller.teacher_logits().clone();
  const Tensor second = distiller.loss(x, (*student)(x), y);
  EXPECT_TRUE(testing::tensors_identical(distiller.teacher_logits(), teacher_first));
  EXPECT_TRUE(testing::tensors_identical(teacher->find_module("1")->buffer("running_mean"), running_mean));
  first.backward();
  for (const auto& [name, p] : student->named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
  for (const auto& [name, p] : teacher->named_parameters()) EXPECT_FALSE(p.grad().defined()) << name;
}

TEST(Distiller, MisuseAndMismatchedShapesNameTheModules) {
  auto student = small_student();
  auto teacher = small_teacher();
  expect_message<ValueError>(
      [&] {
        Distiller(student, teacher,
                  DistillConfig::parse(std::string(R"([{"loss": "l2", "student": "2", "teacher": "conv9"}])")));
      },
      "Distiller: distill config[0].teacher: expected a module of the teacher (Sequential), got 'conv9'; its modules: "
      "0, 1, 2, 3, 4, 5, 6, 7");
  expect_message<ValueError>([&] { Distiller(student, student, DistillConfig::parse(std::string(kAllLosses))); },
                             "Distiller: expected two different models, got the same one as student and teacher");

  const Tensor x = randn({2, 1, 6, 6});
  const Tensor y = zeros({2}, DType::Int64);
  Distiller l2(student, teacher, DistillConfig::parse(std::string(R"([{"loss": "l2", "student": "0", "teacher": "0"}])")));
  expect_message<ShapeError>([&] { l2.check(x); },
                             "Distiller: distill config[0] (l2): l2_feature_loss: expected features of the same shape, "
                             "got the student '0' [2, 4, 6, 6] and the teacher '0' [2, 8, 6, 6]");
  const Tensor logits = (*student)(x);
  expect_message<ShapeError>([&] { l2.loss(randn({3, 1, 6, 6}), logits, y); },
                             "Distiller.loss: expected the student's logits of the same batch as the input, got logits "
                             "[2, 3] for the input [3, 1, 6, 6]");
  EXPECT_THROW(l2.loss(x, logits, y), ShapeError);
  // The failed loss() kept the features; a successful one clears them, so a loss() without a new
  // student forward is an error.
  Distiller ok(student, teacher, DistillConfig::parse(std::string(R"([{"loss": "l2", "student": "2", "teacher": "3"}])")));
  ok.loss(x, (*student)(x), y);
  expect_message<StateError>([&] { ok.loss(x, logits, y); },
                             "Distiller.loss: expected the student's module '2' to have run since the last loss(), got "
                             "no output. Hint: call the student on the batch before loss()");

  Distiller fsp(student, teacher, DistillConfig::parse(std::string(
                                      R"([{"loss": "fsp", "pairs": [{"student": ["0", "2"], "teacher": ["0", "3"]}]}])")));
  expect_message<ShapeError>([&] { fsp.check(x); },
                             "Distiller: distill config[0] (fsp): fsp_loss: pair 0: expected FSP matrices of the same "
                             "shape, got the student's ('0', '2') [2, 4, 4] and the teacher's ('0', '3') [2, 8, 4]");
  Distiller kd(student, teacher, DistillConfig::parse(std::string(R"([{"loss": "soft_label", "alpha": 0.5}])")));
  expect_message<ValueError>([&] { kd.loss(x, (*student)(x), Tensor()); },
                             "Distiller: distill config[0] (soft_label): soft_label_loss: expected Int64 targets [N] "
                             "(alpha = 0.5 weighs the hard-label cross-entropy), got undefined targets");
}

TEST(Distiller, CheckRestoresTheStudentsMode) {
  auto student = small_student();
  auto teacher = small_teacher();
  Distiller distiller(student, teacher, DistillConfig::parse(std::string(kAllLosses)));
  student->train();
  distiller.check(randn({2, 1, 6, 6}));
  EXPECT_TRUE(student->is_training());
  EXPECT_EQ(distiller.last_terms().size(), 3u);
}

/// `steps` SGD steps (momentum, weight decay) on the distillation loss of a fixed batch; returns
/// the loss before and after.
std::pair<double, double> distill(nn::Module& student, Distiller& distiller, int steps, const std::function<void()>& after_step = {}) {
  manual_seed(3);
  const Tensor x = randn({8, 1, 6, 6});
  const Tensor y = from_vector(std::vector<std::int64_t>{0, 1, 2, 0, 1, 2, 0, 1}, {8});
  optim::SGD sgd(student.named_parameters(), {.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4});
  double first = 0, last = 0;
  for (int i = 0; i < steps; ++i) {
    Tensor loss = distiller.loss(x, student(x), y);
    (i == 0 ? first : last) = loss.item();
    sgd.zero_grad();
    loss.backward();
    sgd.step();
    if (after_step) after_step();
  }
  return {first, last};
}

TEST(Distiller, APrunedStudentKeepsItsMasksWhileLearningFromTheDenseTeacher) {
  manual_seed(4);
  auto student = small_student();
  auto teacher = small_teacher();
  LevelPruner pruner(student, ConfigList::parse(R"([{"op_types": ["Conv2d", "Linear"], "sparsity": 0.5}])"));
  pruner.compress();
  Distiller distiller(student, teacher, DistillConfig::parse(std::string(kAllLosses)));
  const auto before = student->find_module("5")->param("weight").clone();
  const auto [first, last] = distill(*student, distiller, 20, [&] { pruner.step(); });
  EXPECT_LT(last, first);
  for (const char* layer : {"0", "2", "5"}) {
    const Tensor mask = pruner.get_masks().at(std::string(layer) + ".weight");
    const std::vector<float> m = mask.to_vector();
    const std::vector<float> w = student->find_module(layer)->param_value("weight").detach().to_vector();
    std::int64_t zeros = 0;
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (m[i] != 0) continue;
      ++zeros;
      EXPECT_EQ(w[i], 0.0f) << layer << " element " << i;
    }
    EXPECT_EQ(zeros, static_cast<std::int64_t>(m.size()) / 2) << layer;
  }
  EXPECT_FALSE(testing::tensors_identical(student->find_module("5")->param("weight"), before));
}

TEST(Distiller, AQuantizedStudentLearnsFromTheTeacherAndIsTappedAfterFakeQuantization) {
  manual_seed(5);
  auto student = small_student();
  auto teacher = small_teacher();
  QATQuantizer quantizer(student, ConfigList::parse(R"([{"op_types": ["Conv2d", "Linear"],
                                                         "quant_types": ["weight", "output"], "quant_bits": 8}])"));
  quantizer.compress();
  // Built after compress(): the tap of "5" sees the quantizer's (fake-quantized) output, which is
  // the student's logits.
  Distiller distiller(student, teacher,
                      DistillConfig::parse(std::string(R"([{"loss": "soft_label", "temperature": 2, "alpha": 0.5},
                                                          {"loss": "l2", "student": "5", "teacher": "7"}])")));
  const Tensor x = randn({4, 1, 6, 6});
  const Tensor logits = (*student)(x);
  distiller.loss(x, logits, zeros({4}, DType::Int64));
  EXPECT_NEAR(distiller.last_terms()[1].second, mse_loss(logits, distiller.teacher_logits()).item(), 1e-6);
  const auto [first, last] = distill(*student, distiller, 20, [&] { quantizer.step(); });
  EXPECT_LT(last, first);
}

}  // namespace
}  // namespace shrink::compression
