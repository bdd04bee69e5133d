// SGD, Adam, AdamW, schedulers and clip_grad_norm_ against PyTorch (tests/fixtures/optim.json).
#include <gtest/gtest.h>

#include <memory>

#include "nn/optim/adam.h"
#include "nn/optim/clip_grad.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/sgd.h"
#include "tests/support/fixtures.h"

namespace shrink::optim {
namespace {

using testing::fixture_case;
using testing::fixture_tensor;

void expect_matches_pytorch(const std::string& name, const std::function<std::unique_ptr<Optimizer>(Tensor&)>& make) {
  const auto& c = fixture_case("optim", name);
  Tensor p = fixture_tensor(c["inputs"]["param"]).requires_grad_();
  auto opt = make(p);
  for (int i = 0; i < 3; ++i) {
    p.set_grad(fixture_tensor(c["inputs"]["grad" + std::to_string(i)]));
    opt->step();
    EXPECT_TRUE(testing::tensors_close(p, fixture_tensor(c["outputs"]["step" + std::to_string(i)]), 1e-6, 1e-6))
        << name << " step " << i;
  }
}

TEST(SGD, MatchesPyTorch) {
  expect_matches_pytorch("sgd_plain", [](Tensor& p) { return std::make_unique<SGD>(std::vector<Tensor>{p}, SGDOptions{.lr = 0.1}); });
  expect_matches_pytorch("sgd_momentum", [](Tensor& p) {
    return std::make_unique<SGD>(std::vector<Tensor>{p}, SGDOptions{.lr = 0.1, .momentum = 0.9});
  });
  expect_matches_pytorch("sgd_momentum_dampening_wd", [](Tensor& p) {
    return std::make_unique<SGD>(std::vector<Tensor>{p},
                                 SGDOptions{.lr = 0.05, .momentum = 0.8, .dampening = 0.3, .weight_decay = 0.01});
  });
  expect_matches_pytorch("sgd_nesterov_wd", [](Tensor& p) {
    return std::make_unique<SGD>(std::vector<Tensor>{p},
                                 SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 5e-4, .nesterov = true});
  });
}

TEST(Adam, MatchesPyTorch) {
  expect_matches_pytorch("adam", [](Tensor& p) { return std::make_unique<Adam>(std::vector<Tensor>{p}, AdamOptions{.lr = 1e-2}); });
  expect_matches_pytorch("adam_wd_amsgrad", [](Tensor& p) {
    return std::make_unique<Adam>(std::vector<Tensor>{p}, AdamOptions{.lr = 1e-2, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6,
                                                                      .weight_decay = 0.1, .amsgrad = true});
  });
}

TEST(AdamW, MatchesPyTorch) {
  expect_matches_pytorch("adamw", [](Tensor& p) { return std::make_unique<AdamW>(std::vector<Tensor>{p}, AdamOptions{.lr = 1e-2, .weight_decay = 1e-2}); });
  expect_matches_pytorch("adamw_amsgrad", [](Tensor& p) {
    return std::make_unique<AdamW>(std::vector<Tensor>{p},
                                   AdamOptions{.lr = 3e-3, .weight_decay = 0.05, .amsgrad = true});
  });
  EXPECT_DOUBLE_EQ(AdamW::defaults().weight_decay, 1e-2);
}

void expect_schedule(const std::string& name, const std::function<std::unique_ptr<LRScheduler>(Optimizer&)>& make) {
  Tensor p = zeros({1}).requires_grad_();
  SGD sgd({p}, SGDOptions{.lr = 0.1});
  auto sched = make(sgd);
  const auto expected = fixture_case("optim", name)["attrs"]["lrs"].get<std::vector<double>>();
  for (std::size_t e = 0; e < expected.size(); ++e) {
    EXPECT_NEAR(sgd.lr(), expected[e], 1e-12) << name << " epoch " << e;
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
  SGD sgd({p}, SGDOptions{.lr = 1.0});
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
