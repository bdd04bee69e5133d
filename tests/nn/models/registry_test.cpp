// The zoo against tests/reference/models.py (tests/fixtures/models.json): state_dict keys,
// shapes and dtypes, parameter and MAC counts, the printed tree, and logits with deterministic
// weights in eval and train mode.
#include "nn/models/registry.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/layers.h"
#include "tests/support/fixtures.h"

namespace shrink::models {
namespace {

using testing::fixture_case;
using testing::fixture_tensor;

// Same formula as fill() in tests/fixtures/gen_models.py.
void fill_deterministic(nn::Module& model) {
  NoGradGuard no_grad;
  std::int64_t t = 0;
  for (const auto& [name, value] : model.state_dict()) {
    Tensor v = value;
    if (v.dtype() == DType::Int64) {
      v.fill_(0);
    } else {
      const bool var = name.size() >= 11 && name.compare(name.size() - 11, 11, "running_var") == 0;
      const double scale = v.dim() >= 2 ? 1.0 / std::sqrt(static_cast<double>(v.numel() / v.size(0))) : 0.1;
      float* p = v.data<float>();
      for (std::int64_t i = 0; i < v.numel(); ++i) {
        const double s = std::sin(0.1 * static_cast<double>(i) + static_cast<double>(t));
        p[i] = static_cast<float>(var ? 1 + 0.5 * s * s : (v.dim() >= 2 ? s * scale : 0.1 * s));
      }
    }
    ++t;
  }
}

std::int64_t count_macs(nn::Module& model, const Tensor& x) {
  std::int64_t macs = 0;
  std::vector<HookHandle> handles;
  for (auto& [name, m] : model.named_modules()) {
    handles.push_back(m->register_forward_hook([&macs](nn::Module& mod, const Tensor&, const Tensor& out) {
      if (auto* conv = mod.as<nn::Conv2d>()) {
        const auto& o = conv->options();
        macs += out.numel() / out.size(0) * (o.in_channels / o.groups) * o.kernel_size[0] * o.kernel_size[1];
      } else if (auto* lin = mod.as<nn::Linear>()) {
        macs += lin->in_features() * lin->out_features();
      }
      return Tensor();
    }));
  }
  NoGradGuard no_grad;
  model(x);
  for (auto& h : handles) h.remove();
  return macs;
}

class Zoo : public ::testing::TestWithParam<std::string> {};

TEST_P(Zoo, StateDictKeysShapesAndDtypesMatchPyTorch) {
  const auto& c = fixture_case("models", GetParam());
  auto model = create(GetParam());
  const auto keys = c["attrs"]["keys"].get<std::vector<std::string>>();
  const auto shapes = c["attrs"]["shapes"].get<std::vector<Shape>>();
  const auto dtypes = c["attrs"]["dtypes"].get<std::vector<std::string>>();
  const io::StateDict sd = model->state_dict();
  ASSERT_EQ(sd.keys(), keys);
  std::size_t i = 0;
  for (const auto& [name, t] : sd) {
    EXPECT_EQ(t.shape(), shapes[i]) << name;
    EXPECT_EQ(std::string(dtype_name(t.dtype())), dtypes[i]) << name;
    ++i;
  }
  std::int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  EXPECT_EQ(params, c["attrs"]["params"].get<std::int64_t>());
}

TEST_P(Zoo, PrintsTheSameTreeAsPyTorch) {
  EXPECT_EQ(create(GetParam())->to_string(), fixture_case("models", GetParam())["attrs"]["repr"].get<std::string>());
}

TEST_P(Zoo, MacsMatchTheReferenceCount) {
  auto model = create(GetParam());
  model->eval();
  EXPECT_EQ(count_macs(*model, zeros({1, 1, 28, 28})), fixture_case("models", GetParam())["attrs"]["macs"].get<std::int64_t>());
}

TEST_P(Zoo, LogitsMatchPyTorchInEvalAndTrainMode) {
  const auto& c = fixture_case("models", GetParam());
  auto model = create(GetParam());
  fill_deterministic(*model);
  const Tensor x = fixture_tensor(c["inputs"]["x"]);
  model->eval();
  EXPECT_TENSOR_NEAR((*model)(x), fixture_tensor(c["outputs"]["eval_logits"]), 1e-4, 1e-4);
  model->train();
  NoGradGuard no_grad;
  EXPECT_TENSOR_NEAR((*model)(x), fixture_tensor(c["outputs"]["train_logits"]), 1e-4, 1e-4);
}

TEST_P(Zoo, TrainsOneStepWithGradientsOnEveryParameter) {
  auto model = create(GetParam());
  Tensor x = randn({4, 1, 28, 28});
  Tensor y = (*model)(x);
  ASSERT_EQ(y.shape(), (Shape{4, 10}));
  y.sum().backward();
  for (const auto& [name, p] : model->named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
}

INSTANTIATE_TEST_SUITE_P(AllModels, Zoo, ::testing::ValuesIn(names()),
                         [](const auto& info) { return info.param; });

TEST(Registry, UnknownNameListsTheZoo) {
  try {
    create("resnet18");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "models::create: unknown model 'resnet18' (known: mlp, naive, lenet5, vgg_small, "
                           "resnet20, mobilenet_small, inception_small)");
  }
}

}  // namespace
}  // namespace shrink::models
