// fake_quantize and the observers against PyTorch (tests/fixtures/gen_quantization.py): outputs
// and straight-through gradients bit for bit, ties rounded half to even, qparams of every
// observer after three batches; the errors for bad grids, scales and shapes.
//
// No finite-difference gradcheck here: fake quantization is a step function whose true
// derivative is 0 almost everywhere; its backward is by definition the straight-through
// estimator, which the fixtures pin instead.
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "compression/quantization/fake_quant.h"
#include "compression/quantization/observers.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::error_of;
using testing::fixture_case;
using testing::fixture_file;
using testing::fixture_tensor;
using testing::tensors_identical;

Tensor input(const nlohmann::json& c, const char* name) { return fixture_tensor(c["inputs"][name]); }
Tensor output(const nlohmann::json& c, const char* name) { return fixture_tensor(c["outputs"][name]); }

TEST(FakeQuantize, PerTensorMatchesPyTorchBitForBitWithItsStraightThroughGradient) {
  for (const char* name : {"per_tensor_int8", "per_tensor_uint8", "per_tensor_int4", "per_tensor_uint4_zp",
                           "per_tensor_int8_restricted"}) {
    SCOPED_TRACE(name);
    const auto& c = fixture_case("quantization", name);
    Tensor x = input(c, "x").requires_grad_(true);
    Tensor out = fake_quantize_per_tensor(x, c["attrs"]["scale"].get<float>(), c["attrs"]["zero_point"],
                                          c["attrs"]["qmin"], c["attrs"]["qmax"]);
    EXPECT_TRUE(tensors_identical(out.detach(), output(c, "out")));
    sum(out * input(c, "grad_out")).backward();
    EXPECT_TRUE(tensors_identical(x.grad(), output(c, "grad_x")));
  }
}

TEST(FakeQuantize, PerChannelMatchesPyTorchBitForBitWithItsStraightThroughGradient) {
  for (const char* name : {"per_channel_axis0_int8", "per_channel_axis1_uint8"}) {
    SCOPED_TRACE(name);
    const auto& c = fixture_case("quantization", name);
    Tensor x = input(c, "x").requires_grad_(true);
    Tensor out = fake_quantize_per_channel(x, input(c, "scale"), input(c, "zero_point"), c["attrs"]["axis"],
                                           c["attrs"]["qmin"], c["attrs"]["qmax"]);
    EXPECT_TRUE(tensors_identical(out.detach(), output(c, "out")));
    sum(out * input(c, "grad_out")).backward();
    EXPECT_TRUE(tensors_identical(x.grad(), output(c, "grad_x")));
  }
}

TEST(FakeQuantize, RoundsHalfWayPointsToEven) {
  const Tensor x = from_vector(std::vector<float>{0.5f, 1.5f, 2.5f, -0.5f, -1.5f}, {5});
  const Tensor out = fake_quantize_per_tensor(x, 1.0f, 0, -8, 7);
  EXPECT_TRUE(tensors_identical(out, from_vector(std::vector<float>{0.0f, 2.0f, 2.0f, 0.0f, -2.0f}, {5})));
}

TEST(FakeQuantize, BadArgumentsAreErrorsThatSayWhatWasExpected) {
  const Tensor x = ones({2, 3});
  EXPECT_EQ(error_of<ValueError>([&] { fake_quantize_per_tensor(x, 0.0f, 0, -128, 127); }),
            "fake_quantize_per_tensor: expected a finite scale > 0, got 0");
  EXPECT_EQ(error_of<ValueError>([&] { fake_quantize_per_tensor(x, 0.1f, 0, 5, 5); }),
            "fake_quantize_per_tensor: expected qmin < qmax, got qmin 5 and qmax 5");
  EXPECT_EQ(error_of<ShapeError>([&] { fake_quantize_per_channel(x, ones({2}), zeros({2}), 1, -128, 127); }),
            "fake_quantize_per_channel: expected scale and zero_point of shape [3] (the size of axis 1 of input "
            "[2, 3]), got [2] and [2]");
  EXPECT_EQ(error_of<ValueError>(
                [&] { fake_quantize_per_channel(x, from_vector(std::vector<float>{1.0f, -1.0f}, {2}), zeros({2}), 0, 0, 255); }),
            "fake_quantize_per_channel: expected a finite scale > 0, got -1 for channel 1");
  EXPECT_EQ(error_of<IndexError>([&] { fake_quantize_per_channel(x, ones({2}), zeros({2}), 2, 0, 255); }),
            "fake_quantize_per_channel: expected axis in [0, 2) for input [2, 3], got 2");
}

TEST(QuantRange, GridsOfEveryKind) {
  EXPECT_EQ(QuantRange::of(8, true), (QuantRange{-128, 127}));
  EXPECT_EQ(QuantRange::of(8, false), (QuantRange{0, 255}));
  EXPECT_EQ(QuantRange::of(8, true, true), (QuantRange{-127, 127}));
  EXPECT_EQ(QuantRange::of(4, true), (QuantRange{-8, 7}));
  EXPECT_EQ(QuantRange::of(16, false), (QuantRange{0, 65535}));
  EXPECT_EQ(error_of<ValueError>([] { QuantRange::of(1, true); }), "QuantRange: expected bits in [2, 16], got 1");
  EXPECT_EQ(error_of<ValueError>([] { QuantRange::of(8, false, true); }),
            "QuantRange: the restricted range [-(2^(b-1)-1), 2^(b-1)-1] is signed; got restricted with an unsigned "
            "grid");
}

TEST(Observers, QParamsMatchPyTorchsObserversAfterThreeBatches) {
  int seen = 0;
  for (const auto& [name, c] : fixture_file("quantization").items()) {
    if (name.rfind("observer_", 0) != 0) continue;
    SCOPED_TRACE(name);
    ++seen;
    const auto& a = c["attrs"];
    ObserverOptions o;
    o.range = {a["quant_min"], a["quant_max"]};
    o.scheme = a["symmetric"].get<bool>() ? QuantScheme::Symmetric : QuantScheme::Affine;
    o.axis = a["axis"];
    o.averaging_constant = a["averaging_constant"].get<float>();
    std::unique_ptr<MinMaxObserver> obs;
    if (a["moving_average"].get<bool>()) obs = std::make_unique<MovingAverageMinMaxObserver>(o);
    else obs = std::make_unique<MinMaxObserver>(o);
    for (const char* b : {"batch0", "batch1", "batch2"}) obs->observe(input(c, b));
    EXPECT_TRUE(tensors_identical(obs->min_val(), output(c, "min_val")));
    EXPECT_TRUE(tensors_identical(obs->max_val(), output(c, "max_val")));
    const QParams q = obs->qparams();
    EXPECT_TRUE(tensors_identical(q.scale, output(c, "scale")));
    EXPECT_TRUE(tensors_identical(q.zero_point, output(c, "zero_point")));
  }
  EXPECT_EQ(seen, 11);
}

TEST(Observers, BeforeAnyBatchScaleIsOneAndZeroPointZero) {
  MinMaxObserver obs;
  const QParams q = obs.qparams();
  EXPECT_EQ(q.scale.data<float>()[0], 1.0f);
  EXPECT_EQ(q.zero_point.data<float>()[0], 0.0f);
}

TEST(Observers, AChannelCountThatChangesIsAnError) {
  MinMaxObserver obs({QuantRange::of(8, true), QuantScheme::Symmetric, 0});
  obs.observe(ones({3, 2}));
  EXPECT_EQ(error_of<ValueError>([&] { obs.observe(ones({4, 2})); }),
            "min_max: expected 3 channels along axis 0 as in earlier batches, got 4");
  MinMaxObserver per_feature({QuantRange::of(8, false), QuantScheme::Affine, 1});
  EXPECT_EQ(error_of<IndexError>([&] { per_feature.observe(ones({3})); }),
            "min_max: expected a tensor with a dim 1 (the channel axis), got shape [3]");
}

}  // namespace
}  // namespace shrink::compression
