// Level, L1Norm, L2Norm and global Level choose the masks torch.nn.utils.prune chooses on the same
// weights (tests/fixtures/gen_pruning.py: l1_unstructured, ln_structured(n=1|2, dim=0),
// global_unstructured).
#include <gtest/gtest.h>

#include <memory>

#include "autograd/grad_mode.h"
#include "compression/pruning/weight_pruners.h"
#include "nn/layers.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::fixture_case;
using testing::fixture_tensor;

/// "0" = Conv2d(4, 8, 3), "1" = Linear(12, 16), with the fixture's weights.
std::shared_ptr<nn::Sequential> model_of(const nlohmann::json& c) {
  auto conv = std::make_shared<nn::Conv2d>(4, 8, 3);
  auto fc = std::make_shared<nn::Linear>(12, 16);
  NoGradGuard no_grad;
  conv->param("weight").copy_(fixture_tensor(c["inputs"]["conv_weight"]));
  fc->param("weight").copy_(fixture_tensor(c["inputs"]["fc_weight"]));
  return std::make_shared<nn::Sequential>(nn::Sequential{conv, fc});
}

void expect_torch_masks(const Pruner& pruner, const nlohmann::json& c) {
  const io::StateDict masks = pruner.get_masks();
  EXPECT_TRUE(testing::tensors_identical(masks.at("0.weight"), fixture_tensor(c["outputs"]["conv_mask"])));
  EXPECT_TRUE(testing::tensors_identical(masks.at("1.weight"), fixture_tensor(c["outputs"]["fc_mask"])));
}

ConfigList per_layer(double s) {
  return ConfigList::parse(R"([{"op_types": ["default"], "sparsity": )" + std::to_string(s) + "}]");
}

TEST(TorchParity, LevelMatchesL1Unstructured) {
  for (const char* amount : {"0.25", "0.5", "0.75"}) {
    SCOPED_TRACE(amount);
    const auto& c = fixture_case("pruning", std::string("l1_unstructured_") + amount);
    LevelPruner pruner(model_of(c), per_layer(c["attrs"]["amount"].get<double>()));
    pruner.compress();
    expect_torch_masks(pruner, c);
  }
}

TEST(TorchParity, L1NormAndL2NormMatchLnStructuredOnDim0) {
  for (int n : {1, 2})
    for (const char* amount : {"0.25", "0.5"}) {
      SCOPED_TRACE(std::to_string(n) + " " + amount);
      const auto& c = fixture_case("pruning", "ln_structured_n" + std::to_string(n) + "_" + amount);
      const ConfigList config = per_layer(c["attrs"]["amount"].get<double>());
      std::unique_ptr<Pruner> pruner;
      if (n == 1) {
        pruner = std::make_unique<L1NormPruner>(model_of(c), config);
      } else {
        pruner = std::make_unique<L2NormPruner>(model_of(c), config);
      }
      pruner->compress();
      expect_torch_masks(*pruner, c);
    }
}

TEST(TorchParity, GlobalLevelMatchesGlobalUnstructured) {
  for (const char* amount : {"0.3", "0.5"}) {
    SCOPED_TRACE(amount);
    const auto& c = fixture_case("pruning", std::string("global_unstructured_") + amount);
    // No per-layer cap, as in PyTorch (NNI's default cap is 0.99).
    LevelPruner pruner(model_of(c), ConfigList::parse(R"([{"op_types": ["default"], "total_sparsity": )" +
                                                      std::string(amount) + R"(, "max_sparsity_per_layer": 1.0}])"));
    pruner.compress();
    expect_torch_masks(pruner, c);
  }
}

}  // namespace
}  // namespace shrink::compression
