// Sequential and ModuleList (nn/modules/container.cpp): a nested Sequential against PyTorch in
// train and eval mode (values, gradients, repr, state_dict keys), gradcheck through a Sequential,
// naming, indexing, scopes, and the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "nn/layers.h"
#include "tests/nn/modules/layer_testing.h"

namespace shrink::nn {
namespace {

using testing::error_of;

// The PyTorch model of gen_layers.py:
//   Sequential(Conv2d(2, 3, 3, padding=1), BatchNorm2d(3), ReLU(), MaxPool2d(2),
//              Sequential(Conv2d(3, 4, 1, bias=False), Tanh()), Flatten(), Linear(16, 5))
std::shared_ptr<Sequential> nested() {
  return std::make_shared<Sequential>(Sequential{
      std::make_shared<Conv2d>(2, 3, 3, 1, 1), std::make_shared<BatchNorm2d>(3), std::make_shared<ReLU>(),
      std::make_shared<MaxPool2d>(2),
      std::make_shared<Sequential>(Sequential{std::make_shared<Conv2d>(3, 4, 1, 1, 0, false), std::make_shared<Tanh>()}),
      std::make_shared<Flatten>(), std::make_shared<Linear>(16, 5)});
}

TEST(Sequential, NestedModelMatchesPyTorchInTraining) {
  auto net = nested();
  testing::expect_pytorch_layout(*net, "sequential_nested_train");
  testing::expect_forward_backward_match(*net, "sequential_nested_train", 1e-4);
  EXPECT_EQ(net->state_dict().at("1.num_batches_tracked").item<std::int64_t>(), 1);
}

TEST(Sequential, NestedModelMatchesPyTorchInEval) {
  auto net = nested();
  testing::expect_forward_backward_match(*net, "sequential_nested_eval", 1e-4);
  EXPECT_FALSE((*net)[1]->is_training());  // eval reached the BatchNorm
  EXPECT_FALSE((*net)[4]->as<Sequential>()->operator[](0)->is_training());
}

TEST(Sequential, GradcheckThroughEveryLayersParameters) {
  manual_seed(8);
  Sequential net{std::make_shared<Linear>(3, 4), std::make_shared<Tanh>(), std::make_shared<Linear>(4, 2),
                 std::make_shared<Sigmoid>()};
  EXPECT_EQ(net.parameters().size(), 4u);
  EXPECT_TRUE(testing::module_gradchecks(net, randn({2, 3})));
  Sequential conv{std::make_shared<Conv2d>(2, 2, 3, 1, 1), std::make_shared<BatchNorm2d>(2), std::make_shared<Tanh>(),
                  std::make_shared<AvgPool2d>(2)};
  EXPECT_TRUE(testing::module_gradchecks(conv, randn({2, 2, 4, 4})));
}

TEST(Sequential, ChildrenAreNamedByPositionAndRunInOrder) {
  Sequential net;
  EXPECT_EQ(net.to_string(), testing::layer_case("sequential_empty").at("attrs").at("repr").get<std::string>());
  Tensor x = randn({2, 3});
  EXPECT_TRUE(net(x).is_same(x));  // an empty Sequential is the identity
  net.push_back(std::make_shared<Linear>(3, 3));
  net.push_back(std::make_shared<ReLU>());
  EXPECT_EQ(net.size(), 2u);
  std::vector<std::string> names;
  for (const auto& [name, m] : net.named_children()) names.push_back(name + ":" + m->type_name());
  EXPECT_EQ(names, (std::vector<std::string>{"0:Linear", "1:ReLU"}));
  // relu(linear(x)) by hand.
  auto* lin = net[0]->as<Linear>();
  ASSERT_NE(lin, nullptr);
  EXPECT_TENSOR_NEAR(net(x), relu(linear(x, lin->weight(), lin->bias())));
  Sequential from_vector_ctor(std::vector<ModulePtr>{std::make_shared<Identity>(), std::make_shared<Tanh>()});
  EXPECT_EQ(from_vector_ctor[1]->type_name(), "Tanh");
}

TEST(Sequential, NegativeIndexCountsFromTheEnd) {
  auto net = nested();
  EXPECT_EQ((*net)[-1]->type_name(), "Linear");
  EXPECT_EQ((*net)[-7]->type_name(), "Conv2d");
  EXPECT_EQ((*net)[3]->type_name(), "MaxPool2d");
}

TEST(Sequential, IndexOutOfRangeIsAnIndexError) {
  auto net = nested();
  EXPECT_EQ(error_of<IndexError>([&] { (*net)[7]; }), "Sequential: index 7 is out of range for 7 modules");
  EXPECT_EQ(error_of<IndexError>([&] { (*net)[-8]; }), "Sequential: index -8 is out of range for 7 modules");
  EXPECT_EQ(error_of<IndexError>([] { Sequential()[0]; }), "Sequential: index 0 is out of range for 0 modules");
}

TEST(Sequential, NodesCarryTheDottedScopeOfTheirLayer) {
  auto net = nested();
  net->eval();
  Tensor y = (*net)(randn({1, 2, 4, 4}).requires_grad_());
  std::vector<std::string> seen;
  std::vector<std::shared_ptr<Node>> stack{y.grad_fn()};
  while (!stack.empty()) {
    auto n = stack.back();
    stack.pop_back();
    if (n->op == "conv2d" || n->op == "linear" || n->op == "tanh") seen.push_back(n->op + "@" + n->scope);
    for (const auto& c : n->next)
      if (c) stack.push_back(c);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"conv2d@0", "conv2d@4.0", "linear@6", "tanh@4.1"}));
}

TEST(Sequential, CloneIsDeepAndReplaceModuleSwapsALayer) {
  auto net = nested();
  auto copy = net->clone();
  EXPECT_EQ(copy->to_string(), net->to_string());
  {
    NoGradGuard no_grad;
    copy->find_module("6")->param("bias").fill_(0.0);
  }
  EXPECT_NE(net->find_module("6")->param("bias").to_vector(), copy->find_module("6")->param("bias").to_vector());
  net->replace_module("4.1", std::make_shared<ReLU>());
  EXPECT_EQ(net->find_module("4.1")->type_name(), "ReLU");
  EXPECT_EQ(copy->find_module("4.1")->type_name(), "Tanh");
}

TEST(ModuleList, PrintsAndNamesLikePyTorch) {
  ModuleList list{std::make_shared<Linear>(2, 3), std::make_shared<ReLU>(),
                  std::make_shared<ModuleList>(
                      ModuleList{std::make_shared<Identity>(), std::make_shared<Linear>(3, 1, false)})};
  testing::expect_pytorch_layout(list, "module_list");
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(list[-1]->type_name(), "ModuleList");
  list.push_back(std::make_shared<Tanh>());
  EXPECT_EQ(list.named_children().back().first, "3");
}

// The usual way to use a ModuleList: a parent iterates over it in its own forward.
class Tower : public Cloneable<Tower> {
 public:
  Tower() : Cloneable("Tower") {
    register_module("blocks", std::make_shared<ModuleList>(ModuleList{std::make_shared<Linear>(3, 3),
                                                                       std::make_shared<Linear>(3, 3)}),
                    &Tower::blocks);
  }
  std::shared_ptr<ModuleList> blocks;

 protected:
  Tensor forward(const Tensor& x) override {
    Tensor out = x;
    for (std::size_t i = 0; i < blocks->size(); ++i) out = tanh((*(*blocks)[static_cast<std::int64_t>(i)])(out)) + out;
    return out;
  }
};

TEST(ModuleList, ParentIteratesOverItAndGradientsReachEveryItem) {
  manual_seed(12);
  Tower tower;
  EXPECT_EQ(tower.state_dict().keys(),
            (std::vector<std::string>{"blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"}));
  EXPECT_TRUE(testing::module_gradchecks(tower, randn({2, 3})));
}

TEST(ModuleList, ForwardIsNotImplementedAndSaysWhatToDo) {
  ModuleList list{std::make_shared<ReLU>()};
  EXPECT_EQ(error_of<NotImplementedError>([&] { list(zeros({1})); }),
            "ModuleList has no forward: iterate over it in the parent module's forward");
}

TEST(ModuleList, IndexOutOfRangeIsAnIndexError) {
  ModuleList list{std::make_shared<ReLU>(), std::make_shared<Tanh>()};
  EXPECT_EQ(error_of<IndexError>([&] { list[2]; }), "ModuleList: index 2 is out of range for 2 modules");
  EXPECT_EQ(error_of<IndexError>([&] { list[-3]; }), "ModuleList: index -3 is out of range for 2 modules");
}

}  // namespace
}  // namespace shrink::nn
