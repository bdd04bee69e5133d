// SGD, Adam, AdamW, RMSprop, schedulers and clip_grad_norm_ against PyTorch (tests/fixtures/optim.json).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>

#include "nn/optim/adam.h"
#include "nn/optim/clip_grad.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/rmsprop.h"
#include "nn/optim/sgd.h"
#include "tests/support/fixtures.h"

namespace shrink::optim {
namespace {

using testing::fixture_case;
using testing::fixture_tensor;

/// Units in the last place between two floats of the same sign (0 when equal); values below
/// `floor` in magnitude are measured in ulps of `floor`, so a parameter crossing zero does not
/// count its tiny absolute differences as billions of ulps.
double ulps_apart(float a, float b, float floor) {
  const float mag = std::max({std::abs(a), std::abs(b), floor});
  const float ulp = std::nextafter(mag, std::numeric_limits<float>::infinity()) - mag;
  return std::abs(static_cast<double>(a) - static_cast<double>(b)) / ulp;
}

/// The tolerance of the replay: PyTorch's operation order is mirrored, so trajectories agree to
/// within rounding noise; a systematic one-ulp-per-step drift (e.g. computing 1 − β in float)
/// reaches several ulps within a few steps and fails.
constexpr double kMaxUlps = 4;

/// Replays the fixture's 50 steps on the quadratic loss Σ s·(p − t)²/2 (gradient (p − t)·s, as
/// the generator computes it) and compares the parameter with PyTorch's after every step.
void expect_trajectory_matches_pytorch(const std::string& name,
                                       const std::function<std::unique_ptr<Optimizer>(Tensor&)>& make) {
  SCOPED_TRACE(name);
  const auto& c = fixture_case("optim", name);
  Tensor p = fixture_tensor(c["inputs"]["param"]).requires_grad_();
  const std::vector<float> target = fixture_tensor(c["inputs"]["target"]).to_vector();
  const std::vector<float> scale = fixture_tensor(c["inputs"]["scale"]).to_vector();
  const std::vector<float> trajectory = fixture_tensor(c["outputs"]["trajectory"]).to_vector();
  const auto n = static_cast<std::size_t>(p.numel());
  ASSERT_EQ(trajectory.size() % n, 0u);
  auto opt = make(p);
  double worst = 0;
  for (std::size_t step = 0; step < trajectory.size() / n; ++step) {
    std::vector<float> grad(n), value = p.detach().to_vector();
    for (std::size_t i = 0; i < n; ++i) grad[i] = (value[i] - target[i]) * scale[i];
    p.set_grad(from_vector(grad, p.shape()));
    opt->step();
    value = p.detach().to_vector();
    for (std::size_t i = 0; i < n; ++i) {
      const double ulps = ulps_apart(value[i], trajectory[step * n + i], 1e-3f);
      worst = std::max(worst, ulps);
      ASSERT_LE(ulps, kMaxUlps) << "step " << step << " element " << i << ": " << value[i] << " vs PyTorch's "
                                << trajectory[step * n + i];
    }
  }
  std::printf("%s: at most %.2f ulps from PyTorch over 50 steps\n", name.c_str(), worst);
}

template <typename Opt, typename Options>
std::function<std::unique_ptr<Optimizer>(Tensor&)> maker(Options options) {
  return [options](Tensor& p) { return std::make_unique<Opt>(std::vector<Tensor>{p}, options); };
}

TEST(SGD, MatchesPyTorchOver50Steps) {
  expect_trajectory_matches_pytorch("sgd_plain", maker<SGD>(SGDConfig{.lr = 0.1}));
  expect_trajectory_matches_pytorch("sgd_momentum", maker<SGD>(SGDConfig{.lr = 0.1, .momentum = 0.9}));
  expect_trajectory_matches_pytorch(
      "sgd_momentum_dampening_wd",
      maker<SGD>(SGDConfig{.lr = 0.05, .momentum = 0.8, .dampening = 0.3, .weight_decay = 0.01}));
  expect_trajectory_matches_pytorch(
      "sgd_nesterov_wd", maker<SGD>(SGDConfig{.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true}));
}

TEST(Adam, MatchesPyTorchOver50Steps) {
  expect_trajectory_matches_pytorch("adam", maker<Adam>(AdamConfig{.lr = 1e-2}));
  expect_trajectory_matches_pytorch("adam_lr0.1", maker<Adam>(AdamConfig{.lr = 0.1}));
  expect_trajectory_matches_pytorch("adam_beta2_0.9999",
                                    maker<Adam>(AdamConfig{.lr = 3e-2, .beta1 = 0.85, .beta2 = 0.9999, .eps = 1e-7}));
  expect_trajectory_matches_pytorch("adam_wd_amsgrad", maker<Adam>(AdamConfig{.lr = 1e-2, .beta1 = 0.8, .beta2 = 0.95,
                                                                               .eps = 1e-6, .weight_decay = 0.1,
                                                                               .amsgrad = true}));
}

TEST(AdamW, MatchesPyTorchOver50Steps) {
  expect_trajectory_matches_pytorch("adamw", maker<AdamW>(AdamWConfig{.lr = 1e-2, .weight_decay = 1e-2}));
  expect_trajectory_matches_pytorch("adamw_lr0.1_wd",
                                    maker<AdamW>(AdamWConfig{.lr = 0.1, .beta2 = 0.99, .weight_decay = 0.05}));
  expect_trajectory_matches_pytorch("adamw_amsgrad",
                                    maker<AdamW>(AdamWConfig{.lr = 3e-3, .weight_decay = 0.05, .amsgrad = true}));
}

TEST(RMSprop, MatchesPyTorchOver50Steps) {
  expect_trajectory_matches_pytorch("rmsprop", maker<RMSprop>(RMSpropConfig{.lr = 1e-2}));
  expect_trajectory_matches_pytorch(
      "rmsprop_momentum_wd",
      maker<RMSprop>(RMSpropConfig{.lr = 3e-3, .alpha = 0.9, .eps = 1e-6, .weight_decay = 0.01, .momentum = 0.9}));
  expect_trajectory_matches_pytorch("rmsprop_centered",
                                    maker<RMSprop>(RMSpropConfig{.lr = 1e-2, .alpha = 0.95, .centered = true}));
  expect_trajectory_matches_pytorch("rmsprop_centered_momentum",
                                    maker<RMSprop>(RMSpropConfig{.lr = 1e-3, .alpha = 0.99, .eps = 1e-7,
                                                                 .weight_decay = 5e-4, .momentum = 0.5,
                                                                 .centered = true}));
}

void expect_schedule(const std::string& name, const std::function<std::unique_ptr<LRScheduler>(Optimizer&)>& make) {
  Tensor p = zeros({1}).requires_grad_();
  SGD sgd({p}, SGDConfig{.lr = 0.1});
  auto sched = make(sgd);
  const auto expected = fixture_case("optim", name)["attrs"]["lrs"].get<std::vector<double>>();
  for (std::size_t e = 0; e < expected.size(); ++e) {
    // The schedules compute in double like PyTorch, in closed form where PyTorch recurses (its
    // cosine drifts by ~3e-15 relative): the same double up to that, the same float lr exactly.
    EXPECT_NEAR(sgd.lr(), expected[e], 1e-14 * expected[e]) << name << " epoch " << e;
    EXPECT_EQ(static_cast<float>(sgd.lr()), static_cast<float>(expected[e])) << name << " epoch " << e;
    sched->step();
  }
}

TEST(LRScheduler, MatchPyTorch) {
  expect_schedule("steplr", [](Optimizer& o) { return std::make_unique<StepLR>(o, 3, 0.5); });
  expect_schedule("multisteplr",
                  [](Optimizer& o) { return std::make_unique<MultiStepLR>(o, std::vector<std::int64_t>{2, 5, 9}, 0.1); });
  expect_schedule("cosine", [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 10, 0.001); });
  expect_schedule("linear_warmup", [](Optimizer& o) { return std::make_unique<LinearWarmup>(o, 4, 0.25); });
}

TEST(LRScheduler, WarmupHandsOverToTheNextScheduleAndResumes) {
  Tensor p = zeros({1}).requires_grad_();
  SGD sgd({p}, SGDConfig{.lr = 1.0});
  auto cosine = std::make_shared<CosineAnnealingLR>(sgd, 4, 0.0);
  LinearWarmup warm(sgd, 2, 0.5, cosine);
  EXPECT_DOUBLE_EQ(sgd.lr(), 0.5);
  warm.step();
  EXPECT_DOUBLE_EQ(sgd.lr(), 0.75);
  warm.step();
  EXPECT_DOUBLE_EQ(sgd.lr(), 1.0);  // cosine epoch 0
  warm.step();
  EXPECT_NEAR(sgd.lr(), (1 + std::cos(M_PI / 4)) / 2, 1e-12);
  warm.set_last_epoch(6);
  EXPECT_NEAR(sgd.lr(), 0.0, 1e-12);
  EXPECT_THROW(StepLR(sgd, 0), ValueError);
}

TEST(ClipGradNorm, MatchesPyTorch) {
  const auto& c = fixture_case("optim", "clip_grad_norm");
  Tensor a = zeros({5}).requires_grad_(), b = zeros({2, 3}).requires_grad_();
  a.set_grad(fixture_tensor(c["inputs"]["grad_a"]));
  b.set_grad(fixture_tensor(c["inputs"]["grad_b"]));
  const double total = clip_grad_norm_({a, b}, 1.0);
  EXPECT_NEAR(total, c["attrs"]["total_norm"].get<double>(), 1e-5);
  EXPECT_TENSOR_NEAR(a.grad(), fixture_tensor(c["outputs"]["clipped_a"]), 1e-6, 1e-5);
  EXPECT_TENSOR_NEAR(b.grad(), fixture_tensor(c["outputs"]["clipped_b"]), 1e-6, 1e-5);
  EXPECT_THROW(clip_grad_norm_({a}, 1.0, 3.0), ValueError);
}

}  // namespace
}  // namespace shrink::optim
