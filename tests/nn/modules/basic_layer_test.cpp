// Flatten, Dropout, Identity (nn/modules/basic.cpp): values, gradients and repr against PyTorch,
// gradcheck through each module, Dropout's train/eval behaviour and seeding, and the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>

#include "autograd/generator.h"
#include "autograd/node.h"
#include "nn/modules/basic.h"
#include "tests/nn/modules/layer_testing.h"

namespace shrink::nn {
namespace {

using testing::error_of;

struct BasicCase {
  std::string name;
  std::function<ModulePtr()> make;
};

const std::vector<BasicCase>& cases() {
  static const std::vector<BasicCase> all = {
      {"flatten_default", [] { return std::make_shared<Flatten>(); }},
      {"flatten_1_2", [] { return std::make_shared<Flatten>(1, 2); }},
      {"flatten_0_neg2", [] { return std::make_shared<Flatten>(0, -2); }},
      {"identity", [] { return std::make_shared<Identity>(); }},
      {"dropout_eval", [] { return std::make_shared<Dropout>(0.25f); }},  // the case runs in eval
  };
  return all;
}

class BasicFixture : public ::testing::TestWithParam<BasicCase> {};

TEST_P(BasicFixture, ForwardGradientReprAndEmptyStateMatchPyTorch) {
  ModulePtr m = GetParam().make();
  testing::expect_pytorch_layout(*m, GetParam().name);
  testing::expect_forward_backward_match(*m, GetParam().name);
}

TEST_P(BasicFixture, GradcheckThroughTheModule) {
  ModulePtr m = GetParam().make();
  m->eval();
  EXPECT_TRUE(testing::module_gradchecks(*m, testing::layer_tensor(GetParam().name, "inputs", "x")));
}

INSTANTIATE_TEST_SUITE_P(Basic, BasicFixture, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(Dropout, ReprMatchesPyTorch) {
  testing::expect_pytorch_layout(Dropout(), "dropout_default");
  testing::expect_pytorch_layout(Dropout(0.1f), "dropout_0_1");
  EXPECT_FLOAT_EQ(Dropout(0.1f).p(), 0.1f);
}

TEST(Dropout, EvalIsTheIdentityAndReturnsTheInputItself) {
  Dropout d(0.5f);
  d.eval();
  Tensor x = randn({4, 5}).requires_grad_();
  Tensor y = d(x);
  EXPECT_TRUE(y.is_same(x));
}

TEST(Dropout, TrainingZeroesAboutPAndScalesTheRestByOneOverOneMinusP) {
  Generator gen(123);
  Dropout d(0.3f, &gen);
  Tensor x = rand({100, 100}) + 1.0f;  // in [1, 2): never zero itself
  Tensor y = d(x);
  const auto vx = x.to_vector(), vy = y.to_vector();
  std::int64_t zeros_seen = 0;
  for (std::size_t i = 0; i < vx.size(); ++i) {
    if (vy[i] == 0.0f)
      ++zeros_seen;
    else
      ASSERT_NEAR(vy[i], vx[i] / 0.7f, 1e-6) << "element " << i;
  }
  // Binomial(10000, 0.3): mean 3000, standard deviation ≈ 46; 5 standard deviations of slack.
  EXPECT_NEAR(double(zeros_seen), 3000.0, 230.0);
}

TEST(Dropout, TheSameSeedGivesTheSameMaskAndBackwardUsesIt) {
  Generator gen(7);
  Dropout d(0.5f, &gen);
  Tensor x = rand({6, 7}) + 0.5f;
  Tensor a = d(x);
  Tensor b = d(x);
  EXPECT_FALSE(testing::tensors_identical(a, b));  // the stream moves on
  gen.manual_seed(7);
  Tensor xl = x.detach().clone().requires_grad_();
  Tensor again = d(xl);
  EXPECT_TRUE(testing::tensors_identical(again, a));
  again.backward(ones({6, 7}));
  // d(out)/dx = mask / (1 - p): 2 where kept, 0 where dropped.
  const auto va = a.to_vector(), vg = xl.grad().to_vector();
  for (std::size_t i = 0; i < va.size(); ++i) EXPECT_FLOAT_EQ(vg[i], va[i] == 0.0f ? 0.0f : 2.0f);
}

TEST(Dropout, WithoutAGeneratorItDrawsFromTheSeededDefaultOne) {
  Dropout d(0.5f);
  Tensor x = ones({50});
  manual_seed(99);
  Tensor a = d(x);
  manual_seed(99);
  EXPECT_TRUE(testing::tensors_identical(d(x), a));
}

TEST(Dropout, GradcheckInTrainingWithAFixedMask) {
  Generator gen(5);
  Dropout d(0.4f, &gen);
  Tensor x = randn({3, 5}).requires_grad_();
  // Reseeding before every call keeps the mask fixed across gradcheck's evaluations.
  const auto r = gradcheck([&](const TensorList& in) { gen.manual_seed(5); return d(in[0]); }, {x});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Dropout, ZeroProbabilityKeepsAndOneDropsEverything) {
  Tensor x = randn({3, 4});
  Dropout keep(0.0f);
  EXPECT_TRUE(keep(x).is_same(x));
  Dropout drop(1.0f);
  EXPECT_TENSOR_NEAR(drop(x), zeros({3, 4}), 0.0, 0.0);
}

TEST(Dropout, ProbabilityOutsideZeroOneIsAValueError) {
  EXPECT_EQ(error_of<ValueError>([] { Dropout(1.5f); }), "Dropout: expected a probability p in [0, 1], got 1.5");
  EXPECT_EQ(error_of<ValueError>([] { Dropout(-0.1f); }), "Dropout: expected a probability p in [0, 1], got -0.1");
  EXPECT_EQ(error_of<ValueError>([] { Dropout(std::nanf("")); }),
            "Dropout: expected a probability p in [0, 1], got nan");
}

TEST(Flatten, KeepsItsDimsAndRecordsAView) {
  Flatten f(1, 2);
  EXPECT_EQ(f.start_dim(), 1);
  EXPECT_EQ(f.end_dim(), 2);
  Tensor y = f(randn({2, 3, 4, 5}).requires_grad_());
  EXPECT_EQ(y.shape(), (Shape{2, 12, 5}));
  ASSERT_TRUE(y.grad_fn());
  EXPECT_EQ(y.grad_fn()->op, "flatten");
}

TEST(Flatten, DimsOutOfRangeReachTheUserWithTheOpsMessage) {
  Flatten f;
  EXPECT_EQ(error_of<IndexError>([&] { f(zeros({4})); }), "flatten: expected dim in range [-1, 0], got 1");
  Flatten reversed(2, 1);
  EXPECT_EQ(error_of<ValueError>([&] { reversed(zeros({2, 3, 4})); }),
            "flatten: expected start_dim <= end_dim, got start_dim 2 (dim 2) and end_dim 1 (dim 1) for shape "
            "[2, 3, 4]");
}

TEST(Identity, ReturnsItsInput) {
  Identity id;
  Tensor x = randn({2, 2});
  EXPECT_TRUE(id(x).is_same(x));
  EXPECT_TRUE(id.state_dict().empty());
}

}  // namespace
}  // namespace shrink::nn
