// trace + GraphModule: every zoo model traces to a graph that, run as a GraphModule, computes
// the model's own outputs; the graph has the expected nodes; the errors for graphs a tracer
// cannot hold name the op and the module; tracing leaves the model as it found it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/layers.h"
#include "nn/models/registry.h"
#include "speedup/functional_ops.h"
#include "speedup/graph_module.h"
#include "speedup/trace.h"
#include "tests/support/errors.h"

namespace shrink::speedup {
namespace {

using testing::error_of;

float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float m = 0.0f;
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.data<float>()[i] - b.data<float>()[i]));
  return m;
}

class ZooTrace : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooTrace, GraphModuleComputesTheModelsOutputForAnotherBatchSize) {
  manual_seed(3);
  nn::ModulePtr model = models::create(GetParam());
  model->eval();
  const Graph graph = trace(*model, zeros({2, 1, 28, 28}));
  GraphModule gm(*model, graph);
  const Tensor x = randn({5, 1, 28, 28});
  NoGradGuard no_grad;
  EXPECT_EQ(max_abs_diff((*model)(x), gm(x)), 0.0f) << graph.to_string();
  EXPECT_EQ(gm.state_dict().size(), model->state_dict().size());
}

TEST_P(ZooTrace, GraphJsonRoundTripKeepsEveryField) {
  nn::ModulePtr model = models::create(GetParam());
  const Graph graph = trace(*model, zeros({1, 1, 28, 28}));
  const Graph back = graph_from_json(graph_to_json(graph));
  EXPECT_EQ(back.to_string(), graph.to_string());
  EXPECT_EQ(graph_to_json(back), graph_to_json(graph));
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooTrace, ::testing::ValuesIn(models::names()));

TEST(Trace, Resnet20GraphHasResidualAddsAndTheShortcutConvs) {
  nn::ModulePtr model = models::create("resnet20");
  const Graph g = trace(*model, zeros({1, 1, 28, 28}));
  int adds = 0;
  for (const GraphNode& n : g.nodes) adds += n.kind == NodeKind::Function && n.target == "add";
  EXPECT_EQ(adds, 9);
  const GraphNode& first = g.nodes[1];
  EXPECT_EQ(first.kind, NodeKind::Module);
  EXPECT_EQ(first.target, "conv1");
  EXPECT_EQ(first.module_type, "Conv2d");
  EXPECT_EQ(first.inputs, std::vector<int>{0});
  EXPECT_EQ(first.shape, (Shape{1, 16, 28, 28}));
  const GraphNode& out = g.nodes[static_cast<std::size_t>(g.output)];
  EXPECT_EQ(out.target, "fc");
}

TEST(Trace, InceptionCatRecordsItsDimAndThreeBranches) {
  nn::ModulePtr model = models::create("inception_small");
  const Graph g = trace(*model, zeros({1, 1, 28, 28}));
  const GraphNode& cat_node = g.nodes[static_cast<std::size_t>(g.index_of("cat"))];
  EXPECT_EQ(cat_node.inputs.size(), 3u);
  EXPECT_EQ(std::get<std::int64_t>(cat_node.attrs[0].second), 1);
  EXPECT_FALSE(cat_node.scope.empty());
}

TEST(Trace, RestoresTrainingFlagsAndDoesNotTouchRunningStatistics) {
  manual_seed(0);
  nn::ModulePtr model = models::create("vgg_small");
  model->train();
  const Tensor before = model->state_dict().at("features.1.running_mean").clone();
  trace(*model, randn({2, 1, 28, 28}));
  EXPECT_TRUE(model->is_training());
  EXPECT_TRUE(model->find_module("features.1")->is_training());
  EXPECT_EQ(max_abs_diff(before, model->state_dict().at("features.1.running_mean")), 0.0f);
}

/// A model whose leaf passes its input through (Identity) twice in a row, and reuses one module.
class Passthrough : public nn::Cloneable<Passthrough> {
 public:
  Passthrough() : Cloneable("Passthrough") {
    register_module("id", std::make_shared<nn::Identity>());
    register_module("fc", std::make_shared<nn::Linear>(4, 4));
  }

 protected:
  Tensor forward(const Tensor& x) override {
    Tensor h = (*child("id"))(x);
    h = (*child("fc"))(h);
    return (*child("fc"))(relu(h)) + h;
  }
};

TEST(Trace, KeepsIdentityCallsAndNamesRepeatedCalls) {
  Passthrough model;
  const Graph g = trace(model, zeros({1, 4}));
  ASSERT_EQ(g.nodes.size(), 6u) << g.to_string();
  EXPECT_EQ(g.nodes[1].name, "id");
  EXPECT_EQ(g.nodes[2].name, "fc");
  EXPECT_EQ(g.nodes[4].name, "fc#2");
  EXPECT_EQ(g.nodes[5].inputs, (std::vector<int>{4, 2}));
  GraphModule gm(model, g);
  const Tensor x = randn({3, 4});
  EXPECT_EQ(max_abs_diff(model(x), gm(x)), 0.0f);
}

/// Leaf modules named like the functional ops the forward also runs, and like the input node.
class OpNamedLeaves : public nn::Cloneable<OpNamedLeaves> {
 public:
  OpNamedLeaves() : Cloneable("OpNamedLeaves") {
    register_module("input", std::make_shared<nn::Linear>(4, 4));
    register_module("relu", std::make_shared<nn::ReLU>());
    register_module("relu_1", std::make_shared<nn::Identity>());
  }

 protected:
  Tensor forward(const Tensor& x) override {
    const Tensor h = (*child("input"))(x);
    return (*child("relu_1"))((*child("relu"))(relu(h) + h));
  }
};

TEST(Trace, FunctionAndInputNodesAreNamedApartFromLeafModulesOfTheSameName) {
  OpNamedLeaves model;
  const Graph g = trace(model, zeros({1, 4}));
  std::vector<std::string> names;
  for (const GraphNode& n : g.nodes) names.push_back(n.name);
  EXPECT_EQ(names, (std::vector<std::string>{"input_1", "input", "relu_2", "add", "relu", "relu_1"})) << g.to_string();
  GraphModule gm(model, graph_from_json(graph_to_json(g)));
  const Tensor x = randn({3, 4});
  EXPECT_EQ(max_abs_diff(model(x), gm(x)), 0.0f);
}

class ConstantInput : public nn::Cloneable<ConstantInput> {
 public:
  ConstantInput() : Cloneable("ConstantInput") { register_module("fc", std::make_shared<nn::Linear>(4, 4)); }

 protected:
  Tensor forward(const Tensor& x) override { return (*child("fc"))(x) * ones({4}); }
};

TEST(Trace, AConstantTensorInAFunctionalOpIsAnError) {
  ConstantInput model;
  EXPECT_EQ(error_of<ValueError>([&] { trace(model, zeros({1, 4})); }),
            "trace: op 'mul' at top level takes input 1 that does not depend on the model input (a constant "
            "tensor); a graph cannot hold it. Hint: register the tensor as a buffer of a leaf module that applies it");
}

class ParamOutsideLeaf : public nn::Cloneable<ParamOutsideLeaf> {
 public:
  ParamOutsideLeaf() : Cloneable("ParamOutsideLeaf") {
    register_module("fc", std::make_shared<nn::Linear>(4, 4));
    register_parameter("scale", ones({4}));
  }

 protected:
  Tensor forward(const Tensor& x) override { return (*child("fc"))(x) * param_value("scale"); }
};

TEST(Trace, AParameterReadOutsideALeafModuleIsAnError) {
  ParamOutsideLeaf model;
  EXPECT_EQ(error_of<ValueError>([&] { trace(model, zeros({1, 4})); }),
            "trace: parameter 'scale' is read outside a leaf module; speedup traces leaf modules (Conv2d, Linear, "
            "BatchNorm2d, ...) composed with functional ops. Hint: move the computation that reads it into a leaf "
            "module");
}

TEST(Trace, ASingleLayerIsAnError) {
  nn::Linear fc(2, 2);
  EXPECT_EQ(error_of<ValueError>([&] { trace(fc, zeros({1, 2})); }),
            "trace: expected a model with submodules, got a single Linear. Hint: wrap it, e.g. in a Sequential");
}

TEST(GraphJson, HostileInputsAreValueErrorsNamingTheField) {
  nn::ModulePtr model = models::create("mlp");
  nlohmann::json j = graph_to_json(trace(*model, zeros({1, 1, 28, 28})));
  nlohmann::json forward_ref = j;
  forward_ref["nodes"][1]["inputs"] = {3};
  EXPECT_EQ(error_of<ValueError>([&] { graph_from_json(forward_ref); }),
            "graph JSON: node 1, field \"inputs\": expected indices of earlier nodes (< 1), got 3");
  nlohmann::json bad_kind = j;
  bad_kind["nodes"][2]["kind"] = "lambda";
  EXPECT_EQ(error_of<ValueError>([&] { graph_from_json(bad_kind); }),
            "graph JSON: node 2, field \"kind\": expected \"input\", \"module\" or \"function\", got \"lambda\"");
  nlohmann::json bad_output = j;
  bad_output["output"] = std::int64_t{1} << 33;
  EXPECT_EQ(error_of<ValueError>([&] { graph_from_json(bad_output); }),
            "graph JSON: \"output\": expected a node index in [0, " + std::to_string(j["nodes"].size()) +
                "), got 8589934592");
  nlohmann::json bad_attr = j;
  bad_attr["nodes"][1]["attrs"] = nlohmann::json::array({nlohmann::json::array({"start_dim", {{"x", 1}}})});
  EXPECT_EQ(error_of<ValueError>([&] { graph_from_json(bad_attr); }),
            "graph JSON: node 1, field \"attrs.start_dim\": expected an int, bool, string, int list or {\"float\": "
            "number}, got {\"x\":1}");
  EXPECT_EQ(error_of<ValueError>([&] { graph_from_json(nlohmann::json::array()); }),
            "graph JSON: expected an object with \"nodes\" (a list) and \"output\", got array");
}

TEST(GraphModule, AnOpWithoutAReplayRuleListsTheSupportedOnes) {
  GraphNode n;
  n.kind = NodeKind::Function;
  n.name = "matmul";
  n.target = "matmul";
  const std::string message = error_of<NotImplementedError>([&] { run_function(n, {ones({2, 2}), ones({2, 2})}); });
  EXPECT_EQ(message.rfind("GraphModule: node 'matmul' runs op 'matmul' at top level, which has no replay rule; "
                          "replayable ops: adaptive_avg_pool2d, add, add_scalar, ",
                          0),
            0u)
      << message;
}

TEST(GraphModule, AReplayRuleIsRunFunctionsOwnAndNullWhereRunFunctionThrows) {
  GraphNode n;
  n.kind = NodeKind::Function;
  n.name = n.target = "sub";
  const ReplayRule sub_rule = replay_rule(n, 2);
  ASSERT_NE(sub_rule, nullptr);
  const Tensor a = from_vector(std::vector<float>{5.0f, 1.0f}, {2});
  const Tensor b = from_vector(std::vector<float>{2.0f, 3.0f}, {2});
  EXPECT_EQ(sub_rule(n, {a, b}).to_vector(), run_function(n, {a, b}).to_vector());
  EXPECT_EQ(sub_rule(n, {a, b}).to_vector(), (std::vector<float>{3.0f, -2.0f}));
  EXPECT_EQ(replay_rule(n, 1), nullptr);  // a binary op with one input
  EXPECT_EQ(error_of<ValueError>([&] { run_function(n, {a}); }),
            "GraphModule: node 'sub' (sub): expected 2 inputs, got 1");
  n.target = "cat";
  EXPECT_EQ(replay_rule(n, 0), nullptr);
  EXPECT_NE(replay_rule(n, 3), nullptr);
  n.target = "matmul";
  EXPECT_EQ(replay_rule(n, 2), nullptr);
}

TEST(GraphModule, AModuleOfAnotherTypeThanRecordedIsAnError) {
  nn::ModulePtr model = models::create("mlp");
  const Graph g = trace(*model, zeros({1, 1, 28, 28}));
  std::map<std::string, nn::ModulePtr> modules{{"fc1", std::make_shared<nn::ReLU>()},
                                               {"fc2", model->find_module("fc2")},
                                               {"fc3", model->find_module("fc3")}};
  EXPECT_EQ(error_of<ValueError>([&] { GraphModule(g, modules); }),
            "GraphModule: node 'fc1' expects module 'fc1' to be a Linear, got a ReLU");
}

}  // namespace
}  // namespace shrink::speedup
