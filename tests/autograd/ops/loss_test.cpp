// Tests of autograd/ops/loss.cpp: softmax, log_softmax, cross_entropy, nll_loss, mse_loss,
// l1_loss, kl_div.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/generator.h"
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

Reduction reduction_of(const std::string& name) {
  if (name == "none") return Reduction::None;
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  return Reduction::BatchMean;
}

const nlohmann::json& attrs(const std::string& c) { return testing::fixture_case("nn_ops", c).at("attrs"); }

// ---- softmax, log_softmax ------------------------------------------------------------------------

TEST(Softmax, MatchesTorchAlongFirstMiddleAndLastDim) {
  for (const char* tag : {"last", "middle", "first"}) {
    const std::string sm = std::string("softmax_") + tag, lsm = std::string("log_softmax_") + tag;
    const std::int64_t dim = attrs(sm).at("dim").get<std::int64_t>();
    testing::expect_matches_torch(
        sm, {"x"}, [dim](const TensorList& in) { return softmax(in[0], dim); }, 1e-6);
    testing::expect_matches_torch(
        lsm, {"x"}, [dim](const TensorList& in) { return log_softmax(in[0], dim); }, 1e-5);
  }
}

TEST(Softmax, GradcheckAlongEveryDim) {
  for (std::int64_t dim : {0, 1, 2, -1}) {
    SCOPED_TRACE("dim " + std::to_string(dim));
    EXPECT_TRUE(gradchecks([dim](const TensorList& in) { return softmax(in[0], dim); }, {randn_leaf({2, 3, 4}, 1)}));
    EXPECT_TRUE(
        gradchecks([dim](const TensorList& in) { return log_softmax(in[0], dim); }, {randn_leaf({2, 3, 4}, 2)}));
  }
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return softmax(in[0], 0); }, {randn_leaf({5}, 3)}));
}

TEST(Softmax, IsStableForLargeLogits) {
  Tensor p = softmax(from_vector(std::vector<float>{1000.0f, 1001.0f, -1000.0f}, {3}), 0);
  EXPECT_TENSOR_NEAR(p, from_vector(std::vector<float>{0.26894142f, 0.73105858f, 0.0f}, {3}), 1e-7, 1e-6);
  Tensor lp = log_softmax(from_vector(std::vector<float>{1000.0f, 1001.0f}, {2}), 0);
  EXPECT_TENSOR_NEAR(lp, from_vector(std::vector<float>{-1.31326169f, -0.31326169f}, {2}), 1e-6, 1e-6);
}

TEST(Softmax, StridedDimAgreesWithTheLastDimOfThePermutedTensor) {
  // Inner size 300 spans two blocks of the strided kernel.
  Generator gen(4);
  Tensor x = randn({2, 7, 300}, &gen);
  Tensor viaLast = permute(softmax(permute(x, {0, 2, 1}), -1), {0, 2, 1});
  EXPECT_TENSOR_NEAR(softmax(x, 1), viaLast, 1e-7, 1e-6);
  Tensor logViaLast = permute(log_softmax(permute(x, {0, 2, 1}), -1), {0, 2, 1});
  EXPECT_TENSOR_NEAR(log_softmax(x, 1), logViaLast, 1e-6, 1e-6);
}

TEST(Softmax, RecordsTheNormalisedDim) {
  Tensor out = log_softmax(randn_leaf({2, 3}, 1), -1);
  ASSERT_TRUE(out.grad_fn());
  EXPECT_EQ(out.grad_fn()->op, "log_softmax");
  EXPECT_EQ(out.grad_fn()->attr_int("dim"), 1);
}

TEST(Softmax, ErrorsOnBadDimOrDtype) {
  EXPECT_THROW(softmax(zeros({2, 3}), 2), IndexError);
  EXPECT_EQ(error_of<ValueError>([] { softmax(zeros({2}, DType::Int64), 0); }),
            "softmax: expected a float32 tensor, got int64");
  EXPECT_EQ(error_of<ValueError>([] { log_softmax(zeros({2}, DType::Int64), 0); }),
            "log_softmax: expected a float32 tensor, got int64");
}

TEST(Softmax, ResultsDoNotDependOnTheThreadCount) {
  for (std::int64_t dim : {1, 2}) {
    SCOPED_TRACE("dim " + std::to_string(dim));
    testing::expect_thread_count_invariant([dim] {
      Tensor x = randn_leaf({16, 40, 300}, 1);
      Tensor y = softmax(x, dim), ly = log_softmax(x, dim);
      Generator gen(2);
      (y * randn(y.shape(), &gen) + ly * randn(y.shape(), &gen)).sum().backward();
      return TensorList{y, ly, x.grad()};
    });
  }
}

// ---- cross_entropy, nll_loss ---------------------------------------------------------------------

TEST(CrossEntropy, MatchesTorchForEveryReductionWithAndWithoutLabelSmoothing) {
  for (const char* red : {"none", "mean", "sum"})
    for (const char* ls : {"0.0", "0.1"}) {
      const std::string c = std::string("cross_entropy_") + red + "_ls" + ls;
      const Reduction r = reduction_of(red);
      const float s = attrs(c).at("label_smoothing").get<float>();
      testing::expect_matches_torch(c, {"logits", "target"},
                                    [r, s](const TensorList& in) { return cross_entropy(in[0], in[1], r, s); });
    }
}

TEST(CrossEntropy, GradcheckForEveryReductionAndSmoothing) {
  Tensor target = from_vector(std::vector<std::int64_t>{2, 0, 3, 3, 1}, {5});
  for (Reduction r : {Reduction::None, Reduction::Mean, Reduction::Sum})
    for (float s : {0.0f, 0.25f}) {
      SCOPED_TRACE("smoothing " + std::to_string(s));
      EXPECT_TRUE(gradchecks([&](const TensorList& in) { return cross_entropy(in[0], target, r, s); },
                             {randn_leaf({5, 4}, 1)}));
    }
}

TEST(CrossEntropy, EqualsNllOfLogSoftmax) {
  Tensor logits = randn({6, 5});
  Tensor target = from_vector(std::vector<std::int64_t>{4, 0, 1, 1, 3, 2}, {6});
  EXPECT_TENSOR_NEAR(cross_entropy(logits, target), nll_loss(log_softmax(logits, 1), target), 1e-6, 1e-6);
  EXPECT_TENSOR_NEAR(cross_entropy(logits, target, Reduction::None),
                     nll_loss(log_softmax(logits, 1), target, Reduction::None), 1e-6, 1e-6);
}

TEST(CrossEntropy, RecordsReductionAndSmoothing) {
  Tensor out =
      cross_entropy(randn_leaf({2, 3}, 1), from_vector(std::vector<std::int64_t>{0, 2}, {2}), Reduction::Sum, 0.1f);
  ASSERT_TRUE(out.grad_fn());
  EXPECT_EQ(out.grad_fn()->op, "cross_entropy");
  EXPECT_EQ(std::get<std::string>(*out.grad_fn()->attr("reduction")), "sum");
  EXPECT_FLOAT_EQ(static_cast<float>(std::get<double>(*out.grad_fn()->attr("label_smoothing"))), 0.1f);
}

TEST(CrossEntropy, ErrorsNameTheSampleTheValueAndTheFix) {
  const Tensor logits = zeros({4, 10});
  EXPECT_EQ(error_of<IndexError>([&] {
              cross_entropy(logits, from_vector(std::vector<std::int64_t>{1, 2, 3, 12}, {4}));
            }),
            "cross_entropy: expected target values in [0, 10), got 12 at sample 3");
  EXPECT_EQ(error_of<IndexError>([&] {
              cross_entropy(logits, from_vector(std::vector<std::int64_t>{-1, 2, 3, 4}, {4}));
            }),
            "cross_entropy: expected target values in [0, 10), got -1 at sample 0");
  EXPECT_EQ(error_of<ShapeError>([&] { cross_entropy(logits, zeros({4})); }),
            "cross_entropy: expected a float32 target of class probabilities with the shape of logits [4, 10], "
            "got [4]. Hint: class-index targets must be int64 (convert with .to(DType::Int64))");
  EXPECT_EQ(error_of<ValueError>([&] { cross_entropy(logits, zeros({4}, DType::UInt8)); }),
            "cross_entropy: expected an int64 target of class indices or a float32 target of class probabilities, "
            "got uint8");
  EXPECT_EQ(error_of<ShapeError>([&] {
              cross_entropy(logits, zeros({4, 1}, DType::Int64));
            }),
            "cross_entropy: expected target of shape [4] (one class index per row of logits [4, 10]), got [4, 1]");
  EXPECT_EQ(error_of<ShapeError>([] {
              cross_entropy(zeros({2, 3, 4}), zeros({2}, DType::Int64));
            }),
            "cross_entropy: expected logits of shape [N, C], got [2, 3, 4]");
  EXPECT_EQ(error_of<ValueError>([] {
              cross_entropy(zeros({2, 3}, DType::Int64), zeros({2}, DType::Int64));
            }),
            "cross_entropy: expected float32 logits, got int64");
  EXPECT_EQ(error_of<ValueError>([&] { cross_entropy(logits, zeros({4}, DType::Int64), Reduction::Mean, 1.5f); }),
            "cross_entropy: expected label_smoothing in [0, 1], got 1.5");
  EXPECT_EQ(error_of<ValueError>([&] { cross_entropy(logits, zeros({4}, DType::Int64), Reduction::BatchMean); }),
            "cross_entropy: expected reduction None, Mean or Sum, got BatchMean. Hint: BatchMean is only valid "
            "for kl_div");
}

TEST(CrossEntropy, ResultsDoNotDependOnTheThreadCount) {
  testing::expect_thread_count_invariant([] {
    Tensor logits = randn_leaf({20000, 10}, 1);
    Generator gen(2);
    Tensor target = randint(0, 10, {20000}, &gen);
    Tensor loss = cross_entropy(logits, target, Reduction::Mean, 0.1f);
    loss.backward();
    return TensorList{loss, logits.grad()};
  });
}

// ---- cross_entropy with class probabilities -------------------------------------------------------

TEST(CrossEntropyProbabilities, MatchesTorchForEveryReductionWithAndWithoutLabelSmoothing) {
  std::vector<std::string> cases{"cross_entropy_probs_unnormalised_mean", "cross_entropy_probs_nchw_none",
                                 "cross_entropy_probs_nchw_mean", "cross_entropy_probs_nchw_sum"};
  for (const char* red : {"none", "mean", "sum"})
    for (const char* ls : {"0.0", "0.1"}) cases.push_back(std::string("cross_entropy_probs_") + red + "_ls" + ls);
  for (const std::string& c : cases) {
    const Reduction r = reduction_of(attrs(c).at("reduction").get<std::string>());
    const float s = attrs(c).at("label_smoothing").get<float>();
    // The logits and the target both get gradients, compared with PyTorch's.
    testing::expect_matches_torch(c, {"logits", "target"},
                                  [r, s](const TensorList& in) { return cross_entropy(in[0], in[1], r, s); });
  }
}

TEST(CrossEntropyProbabilities, MeanDividesByTheNumberOfSamplesNotByTheTargetMass) {
  Tensor logits = randn({3, 4}), target = full({3, 4}, 0.5f);  // each row sums to 2
  const float sum = cross_entropy(logits, target, Reduction::Sum).item<float>();
  EXPECT_FLOAT_EQ(cross_entropy(logits, target).item<float>(), sum / 3);
  EXPECT_EQ(cross_entropy(logits, target, Reduction::None).shape(), (Shape{3}));
  EXPECT_EQ(cross_entropy(randn({2, 4, 3, 5}), softmax(randn({2, 4, 3, 5}), 1), Reduction::None).shape(),
            (Shape{2, 3, 5}));
}

TEST(CrossEntropyProbabilities, OneHotTargetsEqualClassIndices) {
  Tensor logits = randn({4, 3});
  const std::vector<std::int64_t> classes{2, 0, 1, 2};
  std::vector<float> onehot(12, 0.0f);
  for (std::size_t i = 0; i < classes.size(); ++i) onehot[i * 3 + static_cast<std::size_t>(classes[i])] = 1.0f;
  const Tensor index = from_vector(classes, {4}), probs = from_vector(onehot, {4, 3});
  for (float s : {0.0f, 0.3f})
    EXPECT_TENSOR_NEAR(cross_entropy(logits, probs, Reduction::None, s),
                       cross_entropy(logits, index, Reduction::None, s), 1e-6, 1e-6);
}

TEST(CrossEntropyProbabilities, GradcheckForLogitsAndTargetForEveryReductionAndSmoothing) {
  for (Reduction r : {Reduction::None, Reduction::Mean, Reduction::Sum})
    for (float s : {0.0f, 0.25f}) {
      SCOPED_TRACE("smoothing " + std::to_string(s));
      EXPECT_TRUE(gradchecks([&](const TensorList& in) { return cross_entropy(in[0], in[1], r, s); },
                             {randn_leaf({5, 4}, 1), randn_leaf({5, 4}, 2)}));
      EXPECT_TRUE(gradchecks([&](const TensorList& in) { return cross_entropy(in[0], in[1], r, s); },
                             {randn_leaf({2, 3, 2, 2}, 3), randn_leaf({2, 3, 2, 2}, 4)}));
    }
}

TEST(CrossEntropyProbabilities, RecordsTheTargetKind) {
  Tensor out = cross_entropy(randn_leaf({2, 3}, 1), softmax(randn({2, 3}), 1), Reduction::Mean, 0.1f);
  ASSERT_TRUE(out.grad_fn());
  EXPECT_EQ(out.grad_fn()->op, "cross_entropy");
  EXPECT_EQ(std::get<std::string>(*out.grad_fn()->attr("target")), "probabilities");
  EXPECT_EQ(std::get<std::string>(*out.grad_fn()->attr("reduction")), "mean");
}

TEST(CrossEntropyProbabilities, ErrorsNameTheShapesAndTheFix) {
  EXPECT_EQ(error_of<ShapeError>([] { cross_entropy(zeros({4, 10}), zeros({4, 9})); }),
            "cross_entropy: expected a float32 target of class probabilities with the shape of logits [4, 10], "
            "got [4, 9]. Hint: class-index targets must be int64 (convert with .to(DType::Int64))");
  EXPECT_EQ(error_of<ShapeError>([] { cross_entropy(zeros({10}), zeros({10})); }),
            "cross_entropy: expected logits of shape [N, C] or [N, C, d...], got [10]");
  EXPECT_EQ(error_of<ValueError>([] { cross_entropy(zeros({2, 3}, DType::Int64), zeros({2, 3})); }),
            "cross_entropy: expected float32 logits, got int64");
}

TEST(CrossEntropyProbabilities, ResultsDoNotDependOnTheThreadCount) {
  testing::expect_thread_count_invariant([] {
    Tensor logits = randn_leaf({20000, 10}, 1), target = randn_leaf({20000, 10}, 2);
    Tensor loss = cross_entropy(logits, target, Reduction::Mean, 0.1f);
    loss.backward();
    return TensorList{loss, logits.grad(), target.grad()};
  });
}

TEST(NllLoss, MatchesTorchForEveryReduction) {
  for (const char* red : {"none", "mean", "sum"}) {
    const Reduction r = reduction_of(red);
    testing::expect_matches_torch(std::string("nll_loss_") + red, {"log_probs", "target"},
                                  [r](const TensorList& in) { return nll_loss(in[0], in[1], r); });
  }
}

TEST(NllLoss, GradcheckForEveryReduction) {
  Tensor target = from_vector(std::vector<std::int64_t>{1, 0, 2}, {3});
  for (Reduction r : {Reduction::None, Reduction::Mean, Reduction::Sum})
    EXPECT_TRUE(gradchecks([&](const TensorList& in) { return nll_loss(in[0], target, r); }, {randn_leaf({3, 3}, 2)}));
}

TEST(NllLoss, ErrorsMirrorCrossEntropy) {
  EXPECT_EQ(error_of<IndexError>([] {
              nll_loss(zeros({2, 3}), from_vector(std::vector<std::int64_t>{0, 3}, {2}));
            }),
            "nll_loss: expected target values in [0, 3), got 3 at sample 1");
  EXPECT_EQ(error_of<ValueError>([] {
              nll_loss(zeros({2, 3}), zeros({2}, DType::Int64), Reduction::BatchMean);
            }),
            "nll_loss: expected reduction None, Mean or Sum, got BatchMean. Hint: BatchMean is only valid for kl_div");
  EXPECT_EQ(error_of<ShapeError>([] { nll_loss(zeros({3}), zeros({3}, DType::Int64)); }),
            "nll_loss: expected log_probs of shape [N, C], got [3]");
}

// ---- mse_loss, l1_loss ---------------------------------------------------------------------------

TEST(PointwiseLoss, MseAndL1MatchTorchForEveryReduction) {
  for (const char* red : {"none", "mean", "sum"}) {
    const Reduction r = reduction_of(red);
    testing::expect_matches_torch(std::string("mse_loss_") + red, {"input", "target"},
                                  [r](const TensorList& in) { return mse_loss(in[0], in[1], r); });
    testing::expect_matches_torch(std::string("l1_loss_") + red, {"input", "target"},
                                  [r](const TensorList& in) { return l1_loss(in[0], in[1], r); });
  }
}

TEST(PointwiseLoss, GradcheckMseAndL1ForBothInputs) {
  // l1's kink at a = b is avoided: the target is the input shifted by ±0.5 or more.
  Tensor a = randn_leaf({3, 5}, 1);
  Tensor b = from_vector(a.to_vector(), {3, 5});
  {
    Generator gen(2);
    Tensor shift = rand({3, 5}, &gen);
    b = b + (shift - 0.5f) * 3.0f;
    const auto sv = shift.to_vector();
    auto bv = b.to_vector();
    for (std::size_t i = 0; i < bv.size(); ++i) bv[i] += (sv[i] < 0.5f ? -0.3f : 0.3f);
    b = from_vector(bv, {3, 5});
    b.requires_grad_();
  }
  for (Reduction r : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
    EXPECT_TRUE(gradchecks([r](const TensorList& in) { return mse_loss(in[0], in[1], r); }, {a, b}));
    EXPECT_TRUE(gradchecks([r](const TensorList& in) { return l1_loss(in[0], in[1], r); }, {a, b}));
  }
}

TEST(PointwiseLoss, L1GradientIsZeroWhereInputEqualsTarget) {
  Tensor a = from_vector(std::vector<float>{1.0f, 2.0f}, {2});
  a.requires_grad_();
  l1_loss(a, from_vector(std::vector<float>{1.0f, 0.0f}, {2}), Reduction::Sum).backward();
  EXPECT_TRUE(testing::tensors_identical(a.grad(), from_vector(std::vector<float>{0.0f, 1.0f}, {2})));
}

TEST(PointwiseLoss, ErrorsNameShapesAndReduction) {
  EXPECT_EQ(error_of<ShapeError>([] {
              mse_loss(zeros({4, 1}), zeros({4}));
            }),
            "mse_loss: expected input and target of the same shape, got [4, 1] and [4]. Hint: reshape one of them; "
            "broadcasting [N] against [N, 1] would compare every pair");
  EXPECT_EQ(error_of<ValueError>([] { l1_loss(zeros({4}), zeros({4}, DType::Int64)); }),
            "l1_loss: expected float32 input and target, got float32 and int64");
  EXPECT_EQ(error_of<ValueError>([] { mse_loss(zeros({4}), zeros({4}), Reduction::BatchMean); }),
            "mse_loss: expected reduction None, Mean or Sum, got BatchMean. Hint: BatchMean is only valid for kl_div");
  EXPECT_EQ(error_of<ValueError>([] { l1_loss(zeros({4}), zeros({4}), Reduction::BatchMean); }),
            "l1_loss: expected reduction None, Mean or Sum, got BatchMean. Hint: BatchMean is only valid for kl_div");
}

TEST(PointwiseLoss, ResultsDoNotDependOnTheThreadCount) {
  testing::expect_thread_count_invariant([] {
    Tensor a = randn_leaf({300, 700}, 1), b = randn_leaf({300, 700}, 2);
    Tensor loss = mse_loss(a, b) + l1_loss(a, b, Reduction::Sum) * 1e-3f + kl_div(a, exp(b), Reduction::BatchMean);
    loss.backward();
    return TensorList{loss, a.grad(), b.grad()};
  });
}

// ---- kl_div --------------------------------------------------------------------------------------

TEST(KlDiv, MatchesTorchForEveryReductionAndTargetForm) {
  for (const char* red : {"none", "mean", "sum", "batchmean"})
    for (int lt : {0, 1}) {
      const std::string c = std::string("kl_div_") + red + "_log_target" + std::to_string(lt);
      const Reduction r = reduction_of(red);
      testing::expect_matches_torch(c, {"input", "target"},
                                    [r, lt](const TensorList& in) { return kl_div(in[0], in[1], r, lt == 1); });
    }
}

TEST(KlDiv, GradcheckBothTargetForms) {
  Tensor input = log_softmax(randn({3, 4}), 1).detach();
  input.requires_grad_();
  Tensor prob = softmax(randn({3, 4}) * 0.5f, 1).detach();
  prob.requires_grad_();
  Tensor logp = log(prob).detach();
  logp.requires_grad_();
  for (Reduction r : {Reduction::None, Reduction::Mean, Reduction::Sum, Reduction::BatchMean}) {
    EXPECT_TRUE(gradchecks([r](const TensorList& in) { return kl_div(in[0], in[1], r); }, {input, prob}));
    EXPECT_TRUE(gradchecks([r](const TensorList& in) { return kl_div(in[0], in[1], r, true); }, {input, logp}));
  }
}

TEST(KlDiv, ZeroTargetsContributeNothingAndBatchMeanDividesByDim0) {
  Tensor input = from_vector(std::vector<float>{-1.0f, -2.0f, -0.5f, -3.0f}, {2, 2});
  Tensor target = from_vector(std::vector<float>{0.0f, 1.0f, 0.5f, 0.5f}, {2, 2});
  const double e1 = 1.0 * (0.0 + 2.0), e2 = 0.5 * (std::log(0.5) + 0.5), e3 = 0.5 * (std::log(0.5) + 3.0);
  const double total = e1 + e2 + e3;
  EXPECT_NEAR(kl_div(input, target, Reduction::Sum).item(), total, 1e-6);
  EXPECT_NEAR(kl_div(input, target, Reduction::BatchMean).item(), total / 2, 1e-6);
  EXPECT_NEAR(kl_div(input, target, Reduction::Mean).item(), total / 4, 1e-6);
  EXPECT_EQ(kl_div(input, target, Reduction::None).at({0, 0}), 0.0);
  // A 0-dim input has no batch dim: BatchMean is the plain sum.
  EXPECT_NEAR(kl_div(scalar_tensor(-1.0), scalar_tensor(0.5)).item(), 0.5 * (std::log(0.5) + 1.0), 1e-6);
}

TEST(KlDiv, TargetGradientIsNanAtZeroTargetLikeTorch) {
  Tensor input = from_vector(std::vector<float>{0.5f, -1.0f}, {2});
  Tensor target = from_vector(std::vector<float>{0.0f, 0.3f}, {2});
  input.requires_grad_();
  target.requires_grad_();
  kl_div(input, target, Reduction::Sum).backward();
  EXPECT_EQ(input.grad().at({0}), 0.0);
  EXPECT_FLOAT_EQ(static_cast<float>(input.grad().at({1})), -0.3f);
  EXPECT_TRUE(std::isnan(target.grad().at({0})));
  EXPECT_NEAR(target.grad().at({1}), std::log(0.3) + 1.0 + 1.0, 1e-6);
}

TEST(KlDiv, ErrorsOnMismatchedShapes) {
  EXPECT_EQ(error_of<ShapeError>([] {
              kl_div(zeros({2, 3}), zeros({3, 2}));
            }),
            "kl_div: expected input and target of the same shape, got [2, 3] and [3, 2]. Hint: reshape one of them; "
            "broadcasting [N] against [N, 1] would compare every pair");
}

}  // namespace
}  // namespace shrink
