// Tests of autograd/ops/norm.cpp: batch_norm and dropout.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tests/autograd/ops/nn_ops_testing.h"

namespace shrink {
namespace {

using testing::error_of;
using testing::gradchecks;
using testing::nn_input;
using testing::nn_output;
using testing::randn_leaf;

// ---- batch_norm ----------------------------------------------------------------------------------

void check_two_training_steps(const std::string& c, bool affine) {
  SCOPED_TRACE("fixture case " + c);
  const auto& attrs = testing::fixture_case("nn_ops", c).at("attrs");
  const float momentum = attrs.at("momentum").get<float>(), eps = attrs.at("eps").get<float>();
  Tensor x1 = nn_input(c, "x1");
  x1.requires_grad_();
  Tensor w = affine ? nn_input(c, "weight") : Tensor(), b = affine ? nn_input(c, "bias") : Tensor();
  if (affine) {
    w.requires_grad_();
    b.requires_grad_();
  }
  Tensor rm = nn_input(c, "running_mean"), rv = nn_input(c, "running_var");

  Tensor out1 = batch_norm(x1, w, b, rm, rv, true, momentum, eps);
  EXPECT_TENSOR_NEAR(out1, nn_output(c, "out1"), 1e-5, 1e-5);
  EXPECT_TENSOR_NEAR(rm, nn_output(c, "running_mean1"), 1e-6, 1e-5);
  EXPECT_TENSOR_NEAR(rv, nn_output(c, "running_var1"), 1e-6, 1e-5);
  out1.backward(nn_input(c, "grad_out"));
  EXPECT_TENSOR_NEAR(x1.grad(), nn_output(c, "grad_x"), 1e-5, 1e-4);
  if (affine) {
    EXPECT_TENSOR_NEAR(w.grad(), nn_output(c, "grad_weight"), 1e-5, 1e-5);
    EXPECT_TENSOR_NEAR(b.grad(), nn_output(c, "grad_bias"), 1e-5, 1e-5);
  }

  Tensor out2 = batch_norm(nn_input(c, "x2"), w.defined() ? w.detach() : w, b.defined() ? b.detach() : b, rm, rv, true,
                           momentum, eps);
  EXPECT_TENSOR_NEAR(out2, nn_output(c, "out2"), 1e-5, 1e-5);
  EXPECT_TENSOR_NEAR(rm, nn_output(c, "running_mean2"), 1e-6, 1e-5);
  EXPECT_TENSOR_NEAR(rv, nn_output(c, "running_var2"), 1e-6, 1e-5);
}

TEST(BatchNorm, TrainingMatchesTorchIncludingRunningStatsOverTwoSteps) {
  check_two_training_steps("batch_norm_train_nc", true);
  check_two_training_steps("batch_norm_train_ncl", true);
  check_two_training_steps("batch_norm_train_nchw", true);
  check_two_training_steps("batch_norm_train_no_affine", false);
}

TEST(BatchNorm, EvalMatchesTorchAndLeavesRunningStatsAlone) {
  const std::string c = "batch_norm_eval_nchw";
  Tensor rm = nn_input(c, "running_mean"), rv = nn_input(c, "running_var");
  const Tensor rm0 = rm.clone(), rv0 = rv.clone();
  testing::expect_matches_torch(c, {"x", "weight", "bias"},
                                [&](const TensorList& in) { return batch_norm(in[0], in[1], in[2], rm, rv, false); });
  EXPECT_TRUE(testing::tensors_identical(rm, rm0));
  EXPECT_TRUE(testing::tensors_identical(rv, rv0));
}

TEST(BatchNorm, GradcheckInTrainingForEveryRank) {
  for (const Shape& shape : {Shape{4, 3}, Shape{3, 2, 5}, Shape{2, 3, 2, 3}}) {
    SCOPED_TRACE(shape_str(shape));
    const std::int64_t c = shape[1];
    EXPECT_TRUE(
        gradchecks([](const TensorList& in) { return batch_norm(in[0], in[1], in[2], Tensor(), Tensor(), true); },
                   {randn_leaf(shape, 1), randn_leaf({c}, 2), randn_leaf({c}, 3)}));
  }
}

TEST(BatchNorm, GradcheckWithoutAffineAndWithRunningStats) {
  Tensor rm = zeros({3}), rv = ones({3});
  EXPECT_TRUE(
      gradchecks([&](const TensorList& in) { return batch_norm(in[0], Tensor(), Tensor(), rm, rv, true, 0.1f, 1e-3f); },
                 {randn_leaf({5, 3, 2}, 4)}));
}

TEST(BatchNorm, GradcheckInEval) {
  Tensor rm = from_vector(std::vector<float>{0.1f, -0.2f}, {2}), rv = from_vector(std::vector<float>{0.8f, 1.3f}, {2});
  EXPECT_TRUE(gradchecks([&](const TensorList& in) { return batch_norm(in[0], in[1], in[2], rm, rv, false); },
                         {randn_leaf({3, 2, 2, 2}, 5), randn_leaf({2}, 6), randn_leaf({2}, 7)}));
  EXPECT_TRUE(gradchecks([&](const TensorList& in) { return batch_norm(in[0], Tensor(), Tensor(), rm, rv, false); },
                         {randn_leaf({4, 2}, 8)}));
}

TEST(BatchNorm, OnlyTheParametersThatRequireGradGetOne) {
  Tensor x = randn({4, 3}), w = randn_leaf({3}, 1), b = randn({3});
  batch_norm(x, w, b, Tensor(), Tensor(), true).sum().backward();
  EXPECT_TRUE(w.grad().defined());
  EXPECT_FALSE(b.grad().defined());
}

TEST(BatchNorm, NormalisesLargeMeansWithoutCancellation) {
  // Values 1000 + noise of std 0.01: the naive Σx² − (Σx)²/M in float loses the variance.
  Generator gen(3);
  Tensor x = randn({256, 2}, &gen) * 0.01f + 1000.0f;
  Tensor rm = zeros({2}), rv = ones({2});
  Tensor out = batch_norm(x, Tensor(), Tensor(), rm, rv, true, 1.0f);
  // Reference in double from the same float inputs.
  const auto xv = x.to_vector(), ov = out.to_vector();
  for (std::size_t c = 0; c < 2; ++c) {
    double m = 0, v = 0;
    for (std::size_t i = 0; i < 256; ++i) m += xv[i * 2 + c];
    m /= 256;
    for (std::size_t i = 0; i < 256; ++i) v += (xv[i * 2 + c] - m) * (xv[i * 2 + c] - m);
    v /= 256;
    EXPECT_NEAR(rv.at({static_cast<std::int64_t>(c)}), v * 256 / 255, 1e-9);
    for (std::size_t i = 0; i < 256; ++i)
      EXPECT_NEAR(ov[i * 2 + c], (xv[i * 2 + c] - m) / std::sqrt(v + 1e-5), 1e-3) << i;
  }
}

TEST(BatchNorm, RecordsModeMomentumAndEps) {
  Tensor out = batch_norm(randn_leaf({4, 2}, 1), Tensor(), Tensor(), Tensor(), Tensor(), true, 0.2f, 1e-3f);
  ASSERT_TRUE(out.grad_fn());
  EXPECT_EQ(out.grad_fn()->op, "batch_norm");
  EXPECT_EQ(std::get<bool>(*out.grad_fn()->attr("training")), true);
  EXPECT_FLOAT_EQ(static_cast<float>(std::get<double>(*out.grad_fn()->attr("momentum"))), 0.2f);
  EXPECT_FLOAT_EQ(static_cast<float>(std::get<double>(*out.grad_fn()->attr("eps"))), 1e-3f);
}

TEST(BatchNorm, ErrorsNameShapesAndTheFix) {
  const Tensor x = zeros({4, 3, 2});
  EXPECT_EQ(error_of<ShapeError>([] { batch_norm(zeros({3}), Tensor(), Tensor(), Tensor(), Tensor(), true); }),
            "batch_norm: expected input of shape [N, C], [N, C, L] or [N, C, H, W], got [3]");
  EXPECT_EQ(error_of<ShapeError>([&] { batch_norm(x, zeros({4}), Tensor(), Tensor(), Tensor(), true); }),
            "batch_norm: expected weight of shape [3] (one value per channel of the input), got [4]");
  EXPECT_EQ(error_of<ShapeError>([&] {
              batch_norm(x, Tensor(), zeros({2, 3}), Tensor(), Tensor(), true);
            }),
            "batch_norm: expected bias of shape [3] (one value per channel of the input), got [2, 3]");
  EXPECT_EQ(error_of<ShapeError>([&] { batch_norm(x, Tensor(), Tensor(), zeros({2}), ones({3}), true); }),
            "batch_norm: expected running_mean of shape [3] (one value per channel of the input), got [2]");
  EXPECT_EQ(error_of<ValueError>([&] { batch_norm(x, Tensor(), Tensor(), zeros({3}), Tensor(), true); }),
            "batch_norm: expected running_mean and running_var both defined or both undefined, got only "
            "running_mean");
  EXPECT_EQ(error_of<ValueError>([&] { batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false); }),
            "batch_norm: expected running_mean and running_var in eval mode (training = false), got undefined "
            "tensors. Hint: pass training = true to normalise with the batch statistics");
  EXPECT_EQ(error_of<ValueError>([] {
              batch_norm(zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true);
            }),
            "batch_norm: expected more than 1 value per channel when training, got input of shape [1, 3]. "
            "Hint: use a batch of at least 2 samples or call eval()");
  EXPECT_EQ(error_of<ValueError>([&] { batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1f, 0.0f); }),
            "batch_norm: expected eps > 0, got 0");
  EXPECT_EQ(error_of<ValueError>([] {
              batch_norm(zeros({2, 3}, DType::Int64), Tensor(), Tensor(), Tensor(), Tensor(), true);
            }),
            "batch_norm: expected a float32 input, got int64");
  EXPECT_EQ(
      error_of<ValueError>([&] { batch_norm(x, zeros({3}, DType::Int64), Tensor(), Tensor(), Tensor(), true); }),
      "batch_norm: expected weight of dtype float32, got int64");
}

TEST(BatchNorm, ResultsDoNotDependOnTheThreadCount) {
  for (bool training : {true, false}) {
    SCOPED_TRACE(training ? "training" : "eval");
    testing::expect_thread_count_invariant([&] {
      // 64k elements: enough for the kernels to split the 32 channels across threads.
      Tensor x = randn_leaf({8, 32, 16, 16}, 1), w = randn_leaf({32}, 2), b = randn_leaf({32}, 3);
      Tensor rm = zeros({32}), rv = ones({32});
      Tensor out = batch_norm(x, w, b, rm, rv, training);
      Generator gen(4);
      out.backward(randn(out.shape(), &gen));
      return TensorList{out, x.grad(), w.grad(), b.grad(), rm, rv};
    });
  }
}

// ---- dropout -------------------------------------------------------------------------------------

TEST(Dropout, EvalAndZeroProbabilityReturnTheInput) {
  Tensor x = randn({3, 4});
  EXPECT_TRUE(dropout(x, 0.5f, false).is_same(x));
  EXPECT_TRUE(dropout(x, 0.0f, true).is_same(x));
}

TEST(Dropout, ZeroesAboutPAndScalesTheRestByOneOverOneMinusP) {
  Generator gen(1);
  Tensor out = dropout(ones({100000}), 0.3f, true, &gen);
  std::int64_t zeros_count = 0;
  for (float v : out.to_vector()) {
    if (v == 0.0f)
      ++zeros_count;
    else
      EXPECT_EQ(v, 1.0f / 0.7f);
  }
  EXPECT_NEAR(static_cast<double>(zeros_count) / 100000.0, 0.3, 0.01);
}

TEST(Dropout, TheSameSeedGivesTheSameMask) {
  Tensor x = randn({50, 20});
  Generator g1(7), g2(7), g3(8);
  EXPECT_TRUE(testing::tensors_identical(dropout(x, 0.5f, true, &g1), dropout(x, 0.5f, true, &g2)));
  EXPECT_FALSE(testing::tensors_identical(dropout(x, 0.5f, true, &g1), dropout(x, 0.5f, true, &g3)));
  manual_seed(11);
  Tensor a = dropout(x, 0.5f, true);
  manual_seed(11);
  EXPECT_TRUE(testing::tensors_identical(a, dropout(x, 0.5f, true)));
}

TEST(Dropout, BackwardUsesTheForwardMask) {
  Tensor x = randn_leaf({40, 30}, 2);
  Generator gen(3);
  Tensor out = dropout(x, 0.4f, true, &gen);
  Generator ggen(4);
  Tensor g = randn({40, 30}, &ggen);
  out.backward(g);
  const auto o = out.to_vector(), gx = x.grad().to_vector(), gv = g.to_vector();
  for (std::size_t i = 0; i < o.size(); ++i) {
    if (o[i] == 0.0f)
      EXPECT_EQ(gx[i], 0.0f) << i;
    else
      EXPECT_FLOAT_EQ(gx[i], gv[i] / 0.6f) << i;
  }
}

TEST(Dropout, GradcheckWithAFixedMask) {
  EXPECT_TRUE(gradchecks(
      [](const TensorList& in) {
        Generator gen(5);  // a fresh generator per call: every evaluation draws the same mask
        return dropout(in[0], 0.3f, true, &gen);
      },
      {randn_leaf({4, 5}, 6)}));
}

TEST(Dropout, ProbabilityOneGivesZerosAndZeroGradient) {
  Tensor x = randn_leaf({3, 3}, 1);
  Tensor out = dropout(x, 1.0f, true);
  EXPECT_TRUE(testing::tensors_identical(out, zeros({3, 3})));
  out.sum().backward();
  EXPECT_TRUE(testing::tensors_identical(x.grad(), zeros({3, 3})));
}

TEST(Dropout, RecordsP) {
  Tensor out = dropout(randn_leaf({4}, 1), 0.25f, true);
  ASSERT_TRUE(out.grad_fn());
  EXPECT_EQ(out.grad_fn()->op, "dropout");
  EXPECT_EQ(std::get<double>(*out.grad_fn()->attr("p")), 0.25);
}

TEST(Dropout, ErrorsOnBadProbabilityOrDtype) {
  EXPECT_EQ(error_of<ValueError>([] { dropout(zeros({2}), 1.5f, true); }),
            "dropout: expected p in [0, 1], got 1.5");
  EXPECT_EQ(error_of<ValueError>([] { dropout(zeros({2}), -0.1f, false); }),
            "dropout: expected p in [0, 1], got -0.1");
  EXPECT_EQ(error_of<ValueError>([] { dropout(zeros({2}, DType::Int64), 0.5f, true); }),
            "dropout: expected a float32 input, got int64");
}

}  // namespace
}  // namespace shrink
