// fold_batchnorm: every zoo model with BatchNorms computes the same in eval after folding, the
// BatchNorms are gone, and an attached pruner is refused.
#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/pruning/weight_pruners.h"
#include "nn/models/registry.h"
#include "speedup/fold_batchnorm.h"
#include "tests/support/errors.h"

namespace shrink::speedup {
namespace {

class ZooFold : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooFold, EvalOutputsStayAndNoBatchNormIsLeftAfterAConv) {
  manual_seed(6);
  nn::ModulePtr model = models::create(GetParam());
  {
    // Trained-looking statistics, so that the fold has something to do.
    NoGradGuard no_grad;
    for (const auto& [name, m] : model->named_modules())
      if (m->type_name() == "BatchNorm2d") {
        const std::int64_t c = m->buffer("running_mean").numel();
        m->buffer("running_mean").copy_(randn({c}) * 0.5f);
        m->buffer("running_var").copy_(rand({c}) + 0.5f);
        m->param("weight").copy_(rand({c}) + 0.5f);
        m->param("bias").copy_(randn({c}) * 0.3f);
      }
  }
  model->eval();
  const Tensor x = randn({3, 1, 28, 28});
  NoGradGuard no_grad;
  const Tensor before = (*model)(x);
  const auto pairs = fold_batchnorm(*model, zeros({1, 1, 28, 28}));
  if (GetParam() == "vgg_small") EXPECT_EQ(pairs.size(), 6u);
  for (const auto& [conv, bn] : pairs) EXPECT_EQ(model->find_module(bn)->type_name(), "Identity") << bn;
  const Tensor after = (*model)(x);
  float diff = 0, scale = 0;
  for (std::int64_t i = 0; i < before.numel(); ++i) {
    diff = std::max(diff, std::abs(before.data<float>()[i] - after.data<float>()[i]));
    scale = std::max(scale, std::abs(before.data<float>()[i]));
  }
  EXPECT_LT(diff, 1e-5f * scale) << diff << " of " << scale;
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooFold, ::testing::Values("vgg_small", "resnet20", "mobilenet_small"));

TEST(FoldBatchnorm, AnAttachedPrunerIsRefused) {
  nn::ModulePtr model = models::create("vgg_small");
  compression::L1NormPruner pruner(model, compression::ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])"));
  pruner.compress();
  EXPECT_EQ(testing::error_of<StateError>([&] { fold_batchnorm(*model, zeros({1, 1, 28, 28})); }),
            "fold_batchnorm: 'features.0' (Conv2d) carries a parametrization (a pruner or quantizer is attached); "
            "unwrap it first");
}

}  // namespace
}  // namespace shrink::speedup
