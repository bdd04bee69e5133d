// nn::Module: registration rules, hooks, scopes, state_dict, clone, replace_module, printing.
#include "nn/module.h"

#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "nn/layers.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::nn {
namespace {

// A small two-level model like the zoo's: typed members for its children.
class Net : public Cloneable<Net> {
 public:
  Net() : Cloneable("Net") {
    register_module("fc1", std::make_shared<Linear>(4, 3), &Net::fc1);
    register_module("body", std::make_shared<Sequential>(Sequential{std::make_shared<ReLU>(),
                                                                     std::make_shared<Linear>(3, 2)}), &Net::body);
    register_buffer("scale", full({1}, 2.0));
  }
  std::shared_ptr<Linear> fc1;
  std::shared_ptr<Sequential> body;

 protected:
  Tensor forward(const Tensor& x) override { return (*body)((*fc1)(x)) * buffer("scale"); }
};

TEST(Module, NamesAreDottedAndInRegistrationOrder) {
  Net net;
  std::vector<std::string> names;
  for (const auto& [name, t] : net.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"fc1.weight", "fc1.bias", "body.1.weight", "body.1.bias"}));
  EXPECT_EQ(net.state_dict().keys(), (std::vector<std::string>{"scale", "fc1.weight", "fc1.bias", "body.1.weight",
                                                                "body.1.bias"}));
  std::vector<std::string> modules;
  for (const auto& [name, m] : net.named_modules()) modules.push_back(name + ":" + m->type_name());
  EXPECT_EQ(modules, (std::vector<std::string>{"fc1:Linear", "body:Sequential", "body.0:ReLU", "body.1:Linear"}));
  EXPECT_EQ(net.find_module("body.1")->type_name(), "Linear");
  EXPECT_EQ(net.find_module("body.7"), nullptr);
  EXPECT_EQ(net.parameters().size(), 4u);
}

TEST(Module, RegistrationRejectsEmptyDottedAndDuplicateNames) {
  Net net;
  try {
    net.register_parameter("", zeros({1}));
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "Net.register_parameter: expected a non-empty name, got \"\"");
  }
  try {
    net.register_buffer("a.b", zeros({1}));
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "Net.register_buffer: expected a name without dots, got 'a.b'. Hint: dots separate "
                           "levels of the module tree; register the child module instead");
  }
  try {
    net.register_module("scale", std::make_shared<ReLU>());
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "Net.register_module: expected a new name, got 'scale' which is already a parameter, "
                           "buffer or child of this module");
  }
  EXPECT_THROW(net.register_module("x", ModulePtr()), ValueError);
}

TEST(Module, MissingNamesListWhatExists) {
  Net net;
  try {
    net.fc1->param("wieght");
    FAIL();
  } catch (const IndexError& e) {
    EXPECT_STREQ(e.what(), "Linear has no parameter 'wieght' (parameters: weight, bias)");
  }
  try {
    net.child("fc2");
    FAIL();
  } catch (const IndexError& e) {
    EXPECT_STREQ(e.what(), "Net has no child module 'fc2' (children: fc1, body)");
  }
}

TEST(Module, HooksRunInOrderCanReplaceAndAreRemovable) {
  Net net;
  std::vector<std::string> calls;
  HookHandle pre = net.fc1->register_forward_pre_hook([&](Module&, const Tensor& x) {
    calls.push_back("pre");
    return x * 0.0f;  // replace the input
  });
  HookHandle post1 = net.fc1->register_forward_hook([&](Module& m, const Tensor&, const Tensor& y) {
    calls.push_back("post1:" + m.type_name());
    return Tensor();
  });
  HookHandle post2 = net.fc1->register_forward_hook([&](Module&, const Tensor&, const Tensor& y) {
    calls.push_back("post2");
    return y + 1.0f;
  });
  Tensor x = ones({2, 4});
  Tensor out = (*net.fc1)(x);
  EXPECT_EQ(calls, (std::vector<std::string>{"pre", "post1:Linear", "post2"}));
  EXPECT_TENSOR_NEAR(out, net.fc1->bias().detach().reshape({1, 3}) + zeros({2, 3}) + 1.0f);
  pre.remove();
  post2.remove();
  calls.clear();
  (*net.fc1)(x);
  EXPECT_EQ(calls, (std::vector<std::string>{"post1:Linear"}));
}

TEST(Module, ForwardRecordsTheModuleScopeOnNodes) {
  Net net;
  Tensor x = ones({1, 4}).requires_grad_();
  std::vector<std::string> scopes;
  Tensor y = net(x);
  // Walk the graph and collect (op, scope) of the linear nodes.
  std::vector<std::shared_ptr<Node>> stack{y.grad_fn()};
  while (!stack.empty()) {
    auto n = stack.back();
    stack.pop_back();
    if (n->op == "linear") scopes.push_back(n->scope);
    for (const auto& c : n->next)
      if (c) stack.push_back(c);
  }
  std::sort(scopes.begin(), scopes.end());
  EXPECT_EQ(scopes, (std::vector<std::string>{"body.1", "fc1"}));
}

TEST(Module, TrainAndEvalReachEveryDescendant) {
  Net net;
  net.eval();
  EXPECT_FALSE(net.body->operator[](1)->is_training());
  net.train();
  EXPECT_TRUE(net.fc1->is_training());
}

TEST(Module, StateDictRoundTripsAndLoadListsEveryProblem) {
  manual_seed(1);
  Net a;
  manual_seed(2);
  Net b;
  b.load_state_dict(a.state_dict());
  for (const auto& [name, t] : a.state_dict()) EXPECT_TRUE(testing::tensors_identical(t, b.state_dict().at(name)));

  io::StateDict bad = a.state_dict();
  bad.erase("fc1.bias");
  bad.set("fc1.weight", zeros({3, 5}));
  bad.insert("extra", zeros({1}));
  try {
    b.load_state_dict(bad);
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "load_state_dict: the state does not fit this Net: missing keys: fc1.bias; unexpected "
                           "keys: extra; shape/dtype mismatch: fc1.weight (expected [3, 4] float32, got [3, 5] "
                           "float32). Hint: pass strict=false to load a partial state");
  }
  try {
    b.load_state_dict(bad, /*strict=*/false);  // without strict, only the mismatch is an error
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "load_state_dict: the state does not fit this Net: shape/dtype mismatch: fc1.weight "
                           "(expected [3, 4] float32, got [3, 5] float32)");
  }
  bad.set("fc1.weight", zeros({3, 4}));
  b.load_state_dict(bad, /*strict=*/false);  // missing and unexpected keys are fine now
  EXPECT_EQ(b.fc1->weight().at({0, 0}), 0.0);
}

TEST(Module, LoadStateDictCapsLongKeyListsWithACount) {
  Net net;
  io::StateDict extra = net.state_dict();
  for (int i = 0; i < 25; ++i) extra.insert("ghost" + std::to_string(i), zeros({1}));
  const std::string message = testing::error_of<ValueError>([&] { net.load_state_dict(extra); });
  EXPECT_NE(message.find("unexpected keys: ghost0, ghost1, ghost2, ghost3, ghost4, ghost5, ghost6, ghost7, ghost8, "
                         "ghost9, ... and 15 more. Hint"),
            std::string::npos)
      << message;
}

TEST(Module, CloneIsDeepAndKeepsTypedMembersConsistent) {
  auto net = std::make_shared<Net>();
  auto copy = std::dynamic_pointer_cast<Net>(net->clone());
  ASSERT_NE(copy, nullptr);
  EXPECT_NE(copy->fc1, net->fc1);
  EXPECT_EQ(copy->fc1, copy->child("fc1"));
  EXPECT_TRUE(copy->fc1->weight().requires_grad());
  {
    NoGradGuard no_grad;
    copy->fc1->weight().fill_(0);
  }
  EXPECT_NE(net->fc1->weight().at({0, 0}), 0.0);
  Tensor x = ones({2, 4});
  EXPECT_TENSOR_NEAR((*copy)(x), (*copy->body)(zeros({2, 3}) + copy->fc1->bias().detach()) * 2.0f);
}

TEST(Module, ReplaceModuleRepointsTypedMembersAndChecksTheirType) {
  Net net;
  auto smaller = std::make_shared<Linear>(4, 3, /*bias=*/false);
  net.replace_module("fc1", smaller);
  EXPECT_EQ(net.fc1, smaller);
  EXPECT_FALSE(net.state_dict().contains("fc1.bias"));
  net.replace_module("body.0", std::make_shared<Tanh>());  // untyped child: any module fits
  EXPECT_EQ(net.find_module("body.0")->type_name(), "Tanh");
  try {
    net.replace_module("fc1", std::make_shared<ReLU>());
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "replace_module: 'fc1' is held by Net as a Linear; expected a module of that type, got ReLU");
  }
  try {
    net.replace_module("body.5", std::make_shared<ReLU>());
    FAIL();
  } catch (const IndexError& e) {
    EXPECT_STREQ(e.what(), "replace_module: no module named 'body.5' in this Net (children of Sequential: 0, 1)");
  }
}

TEST(Module, RemoveModuleDropsUntypedChildrenOnly) {
  Net net;
  net.body->remove_module("0");
  EXPECT_EQ(net.body->named_children().size(), 1u);
  EXPECT_EQ(net.find_module("body.0"), nullptr);
  EXPECT_TRUE(net.state_dict().contains("body.1.weight"));
  EXPECT_EQ(testing::error_of<IndexError>([&] { net.body->remove_module("0"); }),
            "Sequential.remove_module: no child '0' (children: 1)");
  EXPECT_EQ(testing::error_of<ValueError>([&] { net.remove_module("fc1"); }),
            "Net.remove_module: 'fc1' is held by a typed member of Net; expected an untyped child. Hint: "
            "replace_module it with an Identity instead");
  EXPECT_NE(net.fc1, nullptr);
}

TEST(Module, AsCastsToTheConcreteType) {
  Net net;
  EXPECT_NE(net.fc1->as<Linear>(), nullptr);
  EXPECT_EQ(net.fc1->as<Conv2d>(), nullptr);
}

TEST(Module, PrintsLikePyTorch) {
  Net net;
  EXPECT_EQ(net.to_string(),
            "Net(\n"
            "  (fc1): Linear(in_features=4, out_features=3, bias=True)\n"
            "  (body): Sequential(\n"
            "    (0): ReLU()\n"
            "    (1): Linear(in_features=3, out_features=2, bias=True)\n"
            "  )\n"
            ")");
}

TEST(Module, ApplyVisitsEveryModuleParentsFirst) {
  Net net;
  std::vector<std::string> seen;
  net.apply([&](const std::string& name, Module& m) { seen.push_back(name.empty() ? m.type_name() : name); });
  EXPECT_EQ(seen, (std::vector<std::string>{"Net", "fc1", "body", "body.0", "body.1"}));
}

}  // namespace
}  // namespace shrink::nn
