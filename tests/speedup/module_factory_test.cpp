// module_factory: every leaf layer of nn/ round-trips through its JSON options (same printout,
// same tensors); a module the factory cannot rebuild is refused on save, naming it; hostile
// options are refused on load, naming the module and field.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "nn/layers.h"
#include "speedup/module_factory.h"
#include "tests/support/errors.h"

namespace shrink::speedup {
namespace {

using nlohmann::json;
using testing::error_of;

std::string printout(const nn::Module& m) { return m.type_name() + "(" + m.extra_repr() + ")"; }

/// One module per layer type, with options away from the defaults where the layer has any.
std::vector<nn::ModulePtr> every_layer() {
  nn::Conv2dOptions conv;
  conv.in_channels = 6;
  conv.out_channels = 4;
  conv.kernel_size = {3, 1};
  conv.stride = {2, 1};
  conv.padding = {1, 0};
  conv.dilation = {2, 1};
  conv.groups = 2;
  conv.bias = false;
  nn::BatchNormOptions bn;
  bn.num_features = 5;
  bn.eps = 1e-3f;
  bn.momentum = 0.05f;
  nn::BatchNormOptions bn_plain = bn;
  bn_plain.affine = false;
  bn_plain.track_running_stats = false;
  Pool2dParams max;
  max.kernel = {3, 2};
  max.stride = {2, 1};
  max.padding = {1, 1};
  max.dilation = {1, 2};
  max.ceil_mode = true;
  Pool2dParams avg;
  avg.kernel = {3, 3};
  avg.stride = {0, 0};  // PyTorch's stride=None
  avg.padding = {1, 0};
  avg.count_include_pad = false;
  return {std::make_shared<nn::Conv2d>(conv),
          std::make_shared<nn::Conv2d>(3, 8, 5, 1, 2),
          std::make_shared<nn::Linear>(7, 3),
          std::make_shared<nn::Linear>(7, 3, false),
          std::make_shared<nn::BatchNorm1d>(bn),
          std::make_shared<nn::BatchNorm2d>(bn_plain),
          std::make_shared<nn::BatchNorm2d>(16),
          std::make_shared<nn::ReLU>(),
          std::make_shared<nn::ReLU6>(),
          std::make_shared<nn::LeakyReLU>(0.2f),
          std::make_shared<nn::GELU>("tanh"),
          std::make_shared<nn::Sigmoid>(),
          std::make_shared<nn::Tanh>(),
          std::make_shared<nn::MaxPool2d>(max),
          std::make_shared<nn::AvgPool2d>(avg),
          std::make_shared<nn::AdaptiveAvgPool2d>(std::array<std::int64_t, 2>{3, 2}),
          std::make_shared<nn::Flatten>(2, 3),
          std::make_shared<nn::Dropout>(0.3f),
          std::make_shared<nn::Identity>()};
}

TEST(ModuleFactory, EveryLayerTypeRoundTripsWithItsOptionsAndTensors) {
  std::set<std::string> covered;
  for (const nn::ModulePtr& m : every_layer()) {
    const json j = module_to_json(*m, "layer");
    const ModuleSpec spec = module_from_json(j, "layer");
    const nn::ModulePtr built = spec.build();
    EXPECT_EQ(printout(*built), printout(*m)) << j.dump();
    EXPECT_EQ(spec.type, m->type_name());
    EXPECT_TRUE(io::diff_entries(spec.entries, io::entry_specs(m->state_dict())).empty()) << j.dump();
    EXPECT_TRUE(io::diff_state_dicts(m->state_dict(), built->state_dict()).empty()) << j.dump();
    EXPECT_EQ(module_to_json(*built, "layer"), j);
    covered.insert(m->type_name());
  }
  const std::vector<std::string> types = serializable_module_types();
  EXPECT_EQ(std::vector<std::string>(covered.begin(), covered.end()), types);
}

TEST(ModuleFactory, WritesPyTorchsArgumentNamesAndShortestFloats) {
  nn::BatchNormOptions bn;
  bn.num_features = 5;
  EXPECT_EQ(module_to_json(nn::BatchNorm2d(bn), "bn").dump(),
            R"({"options":{"affine":true,"eps":1e-05,"momentum":0.1,"num_features":5,"track_running_stats":true},)"
            R"("type":"BatchNorm2d"})");
  EXPECT_EQ(module_to_json(nn::MaxPool2d(2), "pool")["options"].dump(),
            R"({"ceil_mode":false,"dilation":[1,1],"kernel_size":[2,2],"padding":[0,0],"stride":[2,2]})");
}

/// A leaf of the user's own (no children, its own forward).
class Scale : public nn::Cloneable<Scale> {
 public:
  Scale() : Cloneable("Scale") {}

 protected:
  Tensor forward(const Tensor& x) override { return x * 2.0f; }
};

/// A subclass of a layer, with its own forward.
class DoubledConv : public nn::Cloneable<DoubledConv, nn::Conv2d> {
 public:
  DoubledConv() : Cloneable(nn::Conv2dOptions{}) {}

 protected:
  Tensor forward(const Tensor& x) override { return nn::Conv2d::forward(x) * 2.0f; }
};

TEST(ModuleFactory, AUsersOwnLeafIsRefusedOnSaveNamingItAndTheLayers) {
  EXPECT_EQ(error_of<ValueError>([] { module_to_json(Scale(), "head.scale"); }),
            "module 'head.scale' is a Scale, which a model file cannot rebuild; it holds the layers AdaptiveAvgPool2d, "
            "AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, GELU, Identity, LeakyReLU, Linear, "
            "MaxPool2d, ReLU, ReLU6, Sigmoid, Tanh. Hint: compose the module from those layers (as children) and "
            "functional ops, so that the traced graph records what it computes");
  EXPECT_EQ(error_of<ValueError>([] { module_to_json(DoubledConv(), "conv"); }).substr(0, 92),
            "module 'conv' is a Conv2d of its own class (a subclass of the layer), which a model file can");
}

TEST(ModuleFactory, AParametrizedLayerIsRefusedOnSave) {
  nn::Linear fc(4, 2);
  fc.register_buffer("weight_mask", ones({2, 4}));
  EXPECT_EQ(error_of<ValueError>([&] { module_to_json(fc, "fc"); }),
            "module 'fc' (Linear): expected the tensors of a Linear built from its options, got unexpected keys: "
            "weight_mask. Hint: a model file holds plain layers; remove extra buffers (a compressor's masks: unwrap() it)");
  fc.register_parametrization(
      "weight", [](nn::Module& owner, const Tensor& w) { return w * owner.buffer("weight_mask"); }, "mask");
  EXPECT_EQ(error_of<ValueError>([&] { module_to_json(fc, "fc"); }),
            "module 'fc' (Linear) has parametrizations (weight: mask), which a model file does not hold. Hint: "
            "unwrap() the compressor first (or speed the model up), so that the weights are plain tensors");
}

json conv_json() { return module_to_json(nn::Conv2d(4, 8, 3, 1, 1), "features.0"); }

/// The message for conv_json() with options[field] = value (or without it, for null).
std::string conv_error(const std::string& field, const json& value) {
  json j = conv_json();
  if (value.is_null()) j["options"].erase(field);
  else j["options"][field] = value;
  return error_of<ValueError>([&] { module_from_json(j, "features.0"); });
}

TEST(ModuleFactory, HostileOptionsAreRefusedNamingTheModuleAndField) {
  const std::string conv = "module 'features.0' (Conv2d): ";
  EXPECT_EQ(conv_error("groups", 3),
            conv + "field \"groups\": expected a divisor of in_channels (4) and out_channels (8), got 3");
  EXPECT_EQ(conv_error("stride", json::array({0, 1})),
            conv + "field \"stride\": expected a list of 2 integers in [1, 65536], got [0,1]");
  EXPECT_EQ(conv_error("kernel_size", json::array({3})),
            conv + "field \"kernel_size\": expected a list of 2 integers in [1, 65536], got [3]");
  EXPECT_EQ(conv_error("in_channels", 18446744073709551615ull),
            conv + "field \"in_channels\": expected an integer in [1, 16777216], got 18446744073709551615");
  EXPECT_EQ(conv_error("in_channels", -1), conv + "field \"in_channels\": expected an integer in [1, 16777216], got -1");
  EXPECT_EQ(conv_error("bias", 1), conv + "field \"bias\": expected true or false, got 1");
  EXPECT_EQ(conv_error("groups", nullptr), conv + "field \"groups\": expected the option, got nothing");
  EXPECT_EQ(conv_error("padding_mode", "zeros"),
            conv + "expected only the options in_channels, out_channels, kernel_size, stride, padding, dilation, "
                   "groups, bias, got \"padding_mode\"");
  json big = module_to_json(nn::Linear(2, 2), "fc");
  big["options"]["in_features"] = 1 << 24;
  big["options"]["out_features"] = 1 << 24;
  EXPECT_EQ(error_of<ValueError>([&] { module_from_json(big, "fc"); }),
            "module 'fc' (Linear): expected a weight of at most 2^40 elements, got shape [16777216, 16777216]");

  json bn = module_to_json(nn::BatchNorm2d(4), "bn");
  bn["options"]["eps"] = 0;
  EXPECT_EQ(error_of<ValueError>([&] { module_from_json(bn, "bn"); }),
            "module 'bn' (BatchNorm2d): field \"eps\": expected a number in (0, 1], got 0");
  bn["options"]["eps"] = "1e-5";
  EXPECT_EQ(error_of<ValueError>([&] { module_from_json(bn, "bn"); }),
            "module 'bn' (BatchNorm2d): field \"eps\": expected a number in (0, 1], got \"1e-5\"");
  json pool = module_to_json(nn::MaxPool2d(2), "pool");
  pool["options"]["padding"] = json::array({2, 0});
  EXPECT_EQ(error_of<ValueError>([&] { module_from_json(pool, "pool"); }),
            "module 'pool' (MaxPool2d): field \"padding\": expected at most half the kernel_size (1, 1), got [2, 0]");
  json gelu = module_to_json(nn::GELU(), "act");
  gelu["options"]["approximate"] = "erf";
  EXPECT_EQ(error_of<ValueError>([&] { module_from_json(gelu, "act"); }),
            "module 'act' (GELU): field \"approximate\": expected \"none\" or \"tanh\", got \"erf\"");
}

TEST(ModuleFactory, AnUnknownTypeOrAMalformedEntryIsRefusedNamingTheModule) {
  EXPECT_EQ(error_of<ValueError>([] { module_from_json(json{{"type", "Scale"}, {"options", json::object()}}, "s"); }),
            "module 's': field \"type\": expected one of AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, "
            "Conv2d, Dropout, Flatten, GELU, Identity, LeakyReLU, Linear, MaxPool2d, ReLU, ReLU6, Sigmoid, Tanh, got "
            "\"Scale\". Hint: the file was written by a newer Shrink or by hand");
  EXPECT_EQ(error_of<ValueError>([] { module_from_json(json{{"options", json::object()}}, "s"); }),
            "module 's': field \"type\": expected a string, got nothing");
  EXPECT_EQ(error_of<ValueError>([] { module_from_json(json{{"type", "ReLU"}}, "s"); }),
            "module 's' (ReLU): field \"options\": expected an object, got nothing");
  EXPECT_EQ(error_of<ValueError>([] { module_from_json(json{{"type", "ReLU"}, {"options", {{"inplace", true}}}}, "s"); }),
            "module 's' (ReLU): expected no options, got \"inplace\"");
  EXPECT_EQ(error_of<ValueError>([] { module_from_json(json::array(), "s"); }),
            "module 's': expected an object {\"name\", \"type\", \"options\"}, got []");
}

}  // namespace
}  // namespace shrink::speedup
