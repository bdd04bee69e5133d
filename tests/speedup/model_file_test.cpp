// Model files: every zoo model saved and loaded again computes the same outputs bit for bit,
// with the same weights under the same names; what cannot be saved is refused naming the module;
// hostile files are refused with an IOError naming the file and what is wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "io/file_format.h"
#include "io/hdf5_file.h"
#include "io/shrink_file.h"
#include "io/state_dict_file.h"
#include "nn/layers.h"
#include "nn/models/registry.h"
#include "speedup/model_file.h"
#include "speedup/functional_ops.h"
#include "speedup/module_factory.h"
#include "speedup/trace.h"
#include "tests/io/temp_dir.h"
#include "tests/speedup/every_op_model.h"
#include "tests/support/errors.h"

namespace shrink::io {
namespace {

using nlohmann::json;
using shrink::testing::error_of;
using shrink::testing::TempDir;
using ::testing::StartsWith;

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  return std::memcmp(a.raw_data(), b.raw_data(), static_cast<std::size_t>(a.numel()) * element_size(a.dtype())) == 0;
}

/// Moves BatchNorm statistics away from their initial values with a few training forwards.
void warm_up(nn::Module& model, const Shape& input_shape) {
  NoGradGuard no_grad;
  model.train();
  Generator gen(5);
  for (int i = 0; i < 3; ++i) model(randn(input_shape, &gen) * 0.5f + 0.3f);
  model.eval();
}

Tensor eval_output(nn::Module& model, const Tensor& x) {
  NoGradGuard no_grad;
  return model(x);
}

class ZooModelFile : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooModelFile, LoadedModelComputesTheSameOutputsBitwiseWithTheSameWeights) {
  TempDir dir;
  manual_seed(11);
  nn::ModulePtr model = models::create(GetParam());
  warm_up(*model, {8, 1, 28, 28});
  const std::string path = dir.file("model.h5");
  save_model(*model, zeros({2, 1, 28, 28}), path);
  const std::shared_ptr<speedup::GraphModule> loaded = load_model(path);
  EXPECT_FALSE(loaded->is_training());
  const Tensor x = randn({5, 1, 28, 28});
  EXPECT_TRUE(bitwise_equal(eval_output(*model, x), eval_output(*loaded, x)));
  // Every parameter and buffer, under its name, with its value (the zoo calls all its modules).
  const StateDict expected = model->state_dict(), got = loaded->state_dict();
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& [key, value] : expected) {
    ASSERT_TRUE(got.contains(key)) << key;
    EXPECT_TRUE(bitwise_equal(value, got.at(key))) << key;
  }
  // The weights are a state_dict file's datasets, in the model's module order.
  const StateDict weights = load_state_dict(path);
  ASSERT_EQ(weights.size(), expected.size());
  for (const auto& [key, value] : weights) EXPECT_TRUE(bitwise_equal(value, expected.at(key))) << key;
}

TEST_P(ZooModelFile, ALoadedModelSavesAgainToTheSameFileContents) {
  TempDir dir;
  manual_seed(12);
  nn::ModulePtr model = models::create(GetParam());
  save_model(*model, zeros({1, 1, 28, 28}), dir.file("a.h5"));
  const std::shared_ptr<speedup::GraphModule> loaded = load_model(dir.file("a.h5"));
  save_model(*loaded, dir.file("b.h5"));
  const H5File a = H5File::open_read(dir.file("a.h5"), "test"), b = H5File::open_read(dir.file("b.h5"), "test");
  EXPECT_EQ(a.string_attr("", "graph"), b.string_attr("", "graph"));
  EXPECT_EQ(a.names(), b.names());
  const Tensor x = randn({2, 1, 28, 28});
  EXPECT_TRUE(bitwise_equal(eval_output(*loaded, x), eval_output(*load_model(dir.file("b.h5")), x)));
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooModelFile, ::testing::ValuesIn(models::names()));

TEST(ModelFile, AModelWithEveryReplayableOpAndEveryLayerTypeRoundTripsBitwise) {
  TempDir dir;
  manual_seed(13);
  shrink::testing::EveryOpModel model;
  warm_up(model, {8, 1, 28, 28});
  save_model(model, randn({2, 1, 28, 28}), dir.file("every_op.h5"));
  const std::shared_ptr<speedup::GraphModule> loaded = load_model(dir.file("every_op.h5"));
  const Tensor x = randn({3, 1, 28, 28});
  EXPECT_TRUE(bitwise_equal(eval_output(model, x), eval_output(*loaded, x)));
  // The model stays complete: its graph holds every op and layer type a file can hold.
  std::set<std::string> ops, types;
  for (const speedup::GraphNode& n : loaded->graph().nodes) {
    if (n.kind == speedup::NodeKind::Function) ops.insert(n.target);
    if (n.kind == speedup::NodeKind::Module) types.insert(n.module_type);
  }
  std::vector<std::string> replayable = speedup::replayable_ops();
  std::erase(replayable, "identity");  // not recorded by a trace: only Identity/Dropout calls replay it
  EXPECT_EQ(std::vector<std::string>(ops.begin(), ops.end()), replayable);
  EXPECT_EQ(std::vector<std::string>(types.begin(), types.end()), speedup::serializable_module_types());
}

/// conv -> bn -> relu -> flatten -> fc, plus a Linear the forward never calls.
class Tiny : public nn::Cloneable<Tiny> {
 public:
  Tiny() : Cloneable("Tiny") {
    register_module("conv", std::make_shared<nn::Conv2d>(1, 2, 3));
    register_module("bn", std::make_shared<nn::BatchNorm2d>(2));
    register_module("fc", std::make_shared<nn::Linear>(8, 3));
    register_module("unused", std::make_shared<nn::Linear>(3, 3));
  }

 protected:
  Tensor forward(const Tensor& x) override {
    const Tensor h = relu((*child("bn"))((*child("conv"))(x)));
    return (*child("fc"))(flatten(h, 1, -1));
  }
};

TEST(ModelFile, HoldsOnlyTheModulesTheGraphCallsAndTheGraphWithTheirOptions) {
  TempDir dir;
  Tiny model;
  save_model(model, zeros({1, 1, 4, 4}), dir.file("tiny.h5"));
  const H5File file = H5File::open_read(dir.file("tiny.h5"), "test");
  EXPECT_EQ(file.string_attr("", "format"), std::optional<std::string>(kModelFormat));
  EXPECT_EQ(file.int_attr("", "format_version"), std::optional<std::int64_t>(kFormatVersion));
  EXPECT_EQ(file.string_attr("", "producer"), std::optional<std::string>(kProducer));
  EXPECT_EQ(file.names(), (std::vector<std::string>{"conv.weight", "conv.bias", "bn.weight", "bn.bias",
                                                    "bn.running_mean", "bn.running_var", "bn.num_batches_tracked",
                                                    "fc.weight", "fc.bias"}));
  const json graph = json::parse(*file.string_attr("", "graph"));
  EXPECT_EQ(graph["modules"].size(), 3u);
  EXPECT_EQ(graph["modules"][0]["name"], "conv");
  EXPECT_EQ(graph["modules"][0]["type"], "Conv2d");
  EXPECT_EQ(graph["modules"][2]["options"], (json{{"in_features", 8}, {"out_features", 3}, {"bias", true}}));
  EXPECT_EQ(graph["nodes"].size(), 6u);
}

class WithLeaf : public nn::Cloneable<WithLeaf> {
 public:
  /// A leaf that is not a layer of nn/ (a Functional wrapping a lambda).
  WithLeaf() : Cloneable("WithLeaf") {
    register_module("fc", std::make_shared<nn::Linear>(4, 4));
    register_module("act", std::make_shared<nn::Functional>([](const Tensor& x) { return x * 2.0f; }, "double"));
  }

 protected:
  Tensor forward(const Tensor& x) override { return (*child("act"))((*child("fc"))(x)); }
};

TEST(ModelFile, SavingRefusesWhatAFileCannotRebuildNamingTheModule) {
  TempDir dir;
  const std::string path = dir.file("m.h5");
  WithLeaf with_leaf;
  EXPECT_THAT(error_of<ValueError>([&] { save_model(with_leaf, zeros({1, 4}), path); }),
              StartsWith("save_model: '" + path + "': module 'act' is a Functional, which a model file cannot rebuild; "
                         "it holds the layers AdaptiveAvgPool2d, "));
  Tiny tiny;
  EXPECT_EQ(error_of<ValueError>([&] { save_model(tiny, path); }),
            "save_model: '" + path + "': expected a speedup::GraphModule (which has its graph), got a Tiny. Hint: give "
            "an example input to trace the model with: io::save_model(model, example, path)");
  speedup::Graph graph = speedup::trace(tiny, zeros({1, 1, 4, 4}));
  graph.nodes[1].target = "features";
  EXPECT_EQ(error_of<ValueError>([&] { save_model(tiny, graph, path); }),
            "save_model: '" + path + "': the graph calls module 'features', which the model does not have");
  EXPECT_TRUE(dir.entries().empty());  // nothing written, no temporary left
}

// ---- hostile files ------------------------------------------------------------------------------

/// Saves Tiny to `path` and returns its graph JSON.
json save_tiny(const std::string& path) {
  Tiny model;
  save_model(model, zeros({1, 1, 4, 4}), path);
  return json::parse(*H5File::open_read(path, "test").string_attr("", "graph"));
}

/// Writes a model file with graph attribute `graph` (none when empty) and the datasets `weights`.
void write_model_file(const std::string& path, const std::optional<std::string>& graph, const StateDict& weights) {
  H5File file = H5File::create(path, "test");
  write_header(file, kModelFormat);
  if (graph) file.set_string_attr("", "graph", *graph);
  for (const auto& [key, tensor] : weights) write_entry(file, key, tensor);
  file.close();
}

/// Tiny's file with its graph JSON changed by `edit` and its weights changed by `edit_weights`;
/// returns load_model's IOError message.
std::string load_error(const std::function<void(json&)>& edit,
                       const std::function<void(StateDict&)>& edit_weights = [](StateDict&) {}) {
  TempDir dir;
  json graph = save_tiny(dir.file("good.h5"));
  StateDict weights = load_state_dict(dir.file("good.h5"));
  edit(graph);
  edit_weights(weights);
  write_model_file(dir.file("bad.h5"), graph.dump(), weights);
  std::string message = error_of<IOError>([&] { load_model(dir.file("bad.h5")); });
  // The temp dir differs per call: name it <dir>.
  const std::string dir_name = dir.path().string();
  for (std::size_t at = message.find(dir_name); at != std::string::npos; at = message.find(dir_name))
    message.replace(at, dir_name.size(), "<dir>");
  return message;
}

/// Index of the first node of `graph` whose name is `name`.
json& node(json& graph, const std::string& name) {
  for (json& n : graph["nodes"])
    if (n["name"] == name) return n;
  throw std::runtime_error("no node " + name);
}

TEST(ModelFile, HostileGraphsAreIOErrorsNamingTheFileAndWhatIsWrong) {
  const std::string at = "load_model: '<dir>/bad.h5': attribute 'graph': ";
  EXPECT_EQ(load_error([](json& g) { g["modules"][1]["type"] = "Scale"; }),
            at + "module 'bn': field \"type\": expected one of AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, "
                 "Conv2d, Dropout, Flatten, GELU, Identity, LeakyReLU, Linear, MaxPool2d, ReLU, ReLU6, Sigmoid, Tanh, "
                 "got \"Scale\". Hint: the file was written by a newer Shrink or by hand");
  EXPECT_EQ(load_error([](json& g) { g["modules"][0]["options"]["stride"] = json::array({0, 0}); }),
            at + "module 'conv' (Conv2d): field \"stride\": expected a list of 2 integers in [1, 65536], got [0,0]");
  EXPECT_EQ(load_error([](json& g) { g["modules"].erase(2); }),
            at + "node 'fc' calls module 'fc', which \"modules\" does not describe");
  EXPECT_EQ(load_error([](json& g) { g["modules"][1]["type"] = "BatchNorm1d"; }),
            at + "node 'bn' expects module 'bn' to be a BatchNorm2d, got a BatchNorm1d in \"modules\"");
  EXPECT_EQ(load_error([](json& g) { g["modules"].push_back(g["modules"][2]); }),
            at + "\"modules\" entry 3: expected one entry per module, got module 'fc' twice");
  EXPECT_EQ(load_error([](json& g) { g["modules"][2]["name"] = "fc/x"; }),
            at + "\"modules\" entry 2: field \"name\": expected a dotted module name (non-empty parts, no '/', at most "
                 "4096 characters), got \"fc/x\"");
  EXPECT_EQ(load_error([](json& g) { g.erase("modules"); }),
            at + "expected a list \"modules\" (name, type and options of each module the graph calls), got nothing");
  EXPECT_THAT(load_error([](json& g) { node(g, "relu")["target"] = "softmax"; }),
              StartsWith(at + "node 'relu' runs op 'softmax', which Shrink cannot replay; replayable ops: adaptive_avg_pool2d, "));
  EXPECT_EQ(load_error([](json& g) { node(g, "fc")["inputs"] = json::array({7}); }),
            at + "graph JSON: node 5, field \"inputs\": expected indices of earlier nodes (< 5), got 7");
}

TEST(ModelFile, DatasetsThatDoNotFitTheModulesAreNamedBeforeAnythingIsRead) {
  const std::string file = "load_model: '<dir>/bad.h5': ";
  EXPECT_EQ(load_error([](json& g) { g["modules"][2]["options"]["out_features"] = 4; }),
            file + "expected the parameters and buffers of the graph's modules, got shape/dtype mismatch: fc.weight "
                   "(expected [4, 8] float32, got [3, 8] float32), fc.bias (expected [4] float32, got [3] float32)");
  EXPECT_EQ(load_error([](json&) {}, [](StateDict& w) { w.set("bn.num_batches_tracked", zeros({})); }),
            file + "expected the parameters and buffers of the graph's modules, got shape/dtype mismatch: "
                   "bn.num_batches_tracked (expected [] int64, got [] float32)");
  EXPECT_EQ(load_error([](json& g) { g["modules"][0]["options"]["bias"] = false; }),
            file + "expected the parameters and buffers of the graph's modules, got unexpected keys: conv.bias");
}

TEST(ModelFile, AFileOfAnotherFormatOrWithoutItsGraphOrWithBrokenJsonIsAnIOError) {
  TempDir dir;
  const std::string weights = dir.file("weights.h5");
  save_state_dict(Tiny().state_dict(), weights);
  EXPECT_EQ(error_of<IOError>([&] { load_model(weights); }),
            "load_model: '" + weights + "': expected format 'shrink.model', got 'shrink.state_dict' (Hint: this is a "
            "weights file; read it with nn::load_weights or io::load_state_dict)");
  const std::string model = dir.file("model.h5");
  save_tiny(model);
  EXPECT_EQ(error_of<IOError>([&] { load_masks(model); }),
            "load_masks: '" + model + "': expected format 'shrink.masks', got 'shrink.model' (Hint: this is a model "
            "file; load it with io::load_model, or its weights with io::load_state_dict)");
  const std::string no_graph = dir.file("no_graph.h5");
  write_model_file(no_graph, std::nullopt, Tiny().state_dict());
  EXPECT_EQ(error_of<IOError>([&] { load_model(no_graph); }),
            "load_model: '" + no_graph + "': expected an attribute 'graph' (the model's graph as JSON), got none. Hint: "
            "a file without it holds weights only; read them with io::load_state_dict");
  const std::string broken = dir.file("broken.h5");
  write_model_file(broken, R"({"nodes": [)", {});
  EXPECT_THAT(error_of<IOError>([&] { load_model(broken); }),
              StartsWith("load_model: '" + broken + "': attribute 'graph': expected JSON, got a parse error "
                         "([json.exception.parse_error.101] parse error at line 1, column 12"));
  const std::string deep = dir.file("deep.h5");
  write_model_file(deep, std::string(100, '[') + std::string(100, ']'), {});
  EXPECT_EQ(error_of<IOError>([&] { load_model(deep); }),
            "load_model: '" + deep + "': attribute 'graph': expected JSON nested at most 16 levels deep, got more");
}

}  // namespace
}  // namespace shrink::io
