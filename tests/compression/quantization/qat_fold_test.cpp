// QAT with Conv-BN folding: the conv computes bn(conv(x, fq(W·sf))/sf + b), the export is the
// unfolded model that computes the same, the int8 file agrees with it bit for bit, and bad pairs
// or settings are errors that leave the model untouched.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/quantization/fake_quant.h"
#include "compression/quantization/qat_quantizer.h"
#include "io/quantized_file.h"
#include "io/state_dict_file.h"
#include "nn/layers.h"
#include "nn/models/registry.h"
#include "speedup/conv_bn_pairs.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::error_of;
using testing::tensors_identical;

nn::ModulePtr conv_bn_relu(std::uint64_t seed = 0) {
  manual_seed(seed);
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(std::make_shared<nn::Conv2d>(2, 4, 3, 1, 1));
  m->push_back(std::make_shared<nn::BatchNorm2d>(nn::BatchNormOptions{.num_features = 4}));
  m->push_back(std::make_shared<nn::ReLU>());
  // Running statistics and affine parameters away from their initial values.
  NoGradGuard no_grad;
  m->find_module("1")->buffer("running_mean").copy_(randn({4}) * 0.3f);
  m->find_module("1")->buffer("running_var").copy_(rand({4}) + 0.5f);
  m->find_module("1")->param("weight").copy_(rand({4}) + 0.5f);
  m->find_module("1")->param("bias").copy_(randn({4}) * 0.2f);
  return m;
}

const char* kConfig = R"([{"op_types": ["Conv2d"], "quant_types": ["weight"],
    "quant_scheme": "per_channel_symmetric", "quant_dtype": "int_full"}])";

QATOptions fold_all(nn::Module& model) { return {speedup::conv_bn_pairs(model, zeros({1, 2, 5, 5}))}; }

float max_rel_diff(const Tensor& a, const Tensor& b) {
  float m = 0, scale = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    m = std::max(m, std::abs(a.data<float>()[i] - b.data<float>()[i]));
    scale = std::max(scale, std::abs(b.data<float>()[i]));
  }
  return m / scale;
}

TEST(QATFold, TheConvComputesWithTheFakeQuantizedFoldedWeightAndDividesItBack) {
  nn::ModulePtr model = conv_bn_relu();
  QATQuantizer q(model, ConfigList::parse(kConfig), fold_all(*model));
  q.compress();
  (*model)(randn({4, 2, 5, 5}));  // a training forward records the qparams
  model->eval();
  const Tensor x = randn({3, 2, 5, 5});
  const Tensor got = (*model)(x).detach();

  NoGradGuard no_grad;
  auto& conv = *model->find_module("0")->as<nn::Conv2d>();
  auto& bn = *model->find_module("1")->as<nn::BatchNorm2d>();
  const Tensor sf = div(bn.weight(), sqrt(add(bn.running_var(), 1e-5f)));
  const Tensor folded = mul(conv.weight(), reshape(sf, {4, 1, 1, 1}));
  // Eval uses the qparams of the last training forward (taken before that forward moved the
  // running variance), on the weight folded with today's statistics.
  const QParams& stored = *q.layers()[0]->qparams[0];
  EXPECT_EQ(stored.axis, 0);
  Tensor y = conv2d(x, fake_quantize(folded, stored), Tensor(), conv.params());
  y = add(div(y, reshape(sf, {1, 4, 1, 1})), reshape(conv.bias(), {1, 4, 1, 1}));
  const Tensor expected = relu(batch_norm(y, bn.weight(), bn.bias(), bn.running_mean(), bn.running_var(), false));
  EXPECT_TRUE(tensors_identical(got, expected));
}

TEST(QATFold, TrainingUpdatesTheBatchNormStatisticsAndGradientsReachEveryParameter) {
  nn::ModulePtr model = conv_bn_relu();
  QATQuantizer q(model, ConfigList::parse(kConfig), fold_all(*model));
  q.compress();
  const Tensor before = model->find_module("1")->buffer("running_mean").clone();
  sum(pow((*model)(randn({4, 2, 5, 5})), 2.0f)).backward();
  EXPECT_FALSE(tensors_identical(before, model->find_module("1")->buffer("running_mean")));
  for (const auto& [name, p] : model->named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    float norm = 0;
    for (std::int64_t i = 0; i < p.numel(); ++i) norm += std::abs(p.grad().data<float>()[i]);
    EXPECT_GT(norm, 0.0f) << name;
  }
}

TEST(QATFold, TheExportIsTheUnfoldedModelAndTheInt8FileAgreesWithIt) {
  testing::TempDir dir;
  nn::ModulePtr model = conv_bn_relu();
  QATQuantizer q(model, ConfigList::parse(kConfig), fold_all(*model));
  q.compress();
  (*model)(randn({4, 2, 5, 5}));
  model->eval();
  const Tensor x = randn({3, 2, 5, 5});
  const Tensor folded_out = (*model)(x).detach();
  q.export_model(dir.file("m.h5"), dir.file("c.json"), dir.file("m.int8.h5"));

  nn::ModulePtr plain = conv_bn_relu(7);
  plain->load_state_dict(io::load_state_dict(dir.file("m.h5")));
  plain->eval();
  EXPECT_LT(max_rel_diff((*plain)(x).detach(), folded_out), 1e-5f);
  const io::StateDict int8 = io::load_quantized(dir.file("m.int8.h5"));
  EXPECT_TRUE(tensors_identical(int8.at("0.weight"), plain->find_module("0")->param("weight")));
  // The calibration config describes the unfolded weight: a quantizer without folding on the
  // plain model leaves the exported weight as it is.
  QATQuantizer unfolded(plain, ConfigList::parse(kConfig));
  unfolded.compress();
  unfolded.load_calibration_config(dir.file("c.json"));
  NoGradGuard no_grad;
  EXPECT_TRUE(tensors_identical(plain->find_module("0")->param_value("weight"), int8.at("0.weight")));
}

TEST(QATFold, Resnet20FoldsEveryConvBnPairAndExportsAnEquivalentPlainModel) {
  testing::TempDir dir;
  manual_seed(2);
  nn::ModulePtr model = models::create("resnet20");
  QATQuantizer q(model, ConfigList::parse(kConfig), {speedup::conv_bn_pairs(*model, zeros({1, 1, 28, 28}))});
  q.compress();
  (*model)(randn({4, 1, 28, 28}));
  model->eval();
  const Tensor x = randn({2, 1, 28, 28});
  const Tensor folded_out = (*model)(x).detach();
  q.export_model(dir.file("m.h5"), dir.file("c.json"));
  nn::ModulePtr plain = models::create("resnet20");
  plain->load_state_dict(io::load_state_dict(dir.file("m.h5")));
  plain->eval();
  EXPECT_LT(max_rel_diff((*plain)(x).detach(), folded_out), 1e-4f);
}

TEST(QATFold, BadPairsAndSettingsAreErrorsThatLeaveTheModelAsItWas) {
  nn::ModulePtr model = conv_bn_relu();
  const Tensor x = randn({1, 2, 5, 5});
  model->eval();
  const Tensor before = (*model)(x).detach();
  EXPECT_EQ(error_of<ValueError>([&] {
              QATQuantizer(model, ConfigList::parse(R"([{"op_types": ["Conv2d"], "quant_types": ["weight"]}])"),
                           fold_all(*model))
                  .compress();
            }),
            "QATQuantizer: fold_bn ('0', '1'): expected per-channel weight quantization (a per-tensor scale does not "
            "survive unfolding), got per_tensor_affine");
  EXPECT_EQ(error_of<ValueError>(
                [&] { QATQuantizer(model, ConfigList::parse(kConfig), QATOptions{{{"0", "2"}}}).compress(); }),
            "QATQuantizer: fold_bn ('0', '2'): expected a BatchNorm2d with affine weights and running statistics, got "
            "ReLU");
  EXPECT_EQ(error_of<ValueError>(
                [&] { QATQuantizer(model, ConfigList::parse(kConfig), QATOptions{{{"1", "0"}}}).compress(); }),
            "QATQuantizer: fold_bn ('1', '0'): expected a Conv2d whose weight the config_list quantizes, got a layer "
            "the config_list does not select");
  EXPECT_FALSE(model->find_module("0")->is_parametrized());
  EXPECT_TRUE(tensors_identical((*model)(x).detach(), before));
}

}  // namespace
}  // namespace shrink::compression
