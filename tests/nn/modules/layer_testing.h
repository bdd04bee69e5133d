#pragma once
/// \file
/// Helpers shared by the layer tests (tests/nn/modules/*_layer_test.cpp): loading a layer's
/// parameters from the PyTorch fixture tests/fixtures/layers.json (written by gen_layers.py),
/// running the fixture's forward/backward through the module, checking the printed repr and the
/// state_dict layout, gradcheck through a module, and catching an error's message.

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "nn/module.h"
#include "tests/support/fixtures.h"

namespace shrink::testing {

/// The case `name` of layers.json.
inline const nlohmann::json& layer_case(const std::string& name) { return fixture_case("layers", name); }

/// A StateDict from a fixture object {name: tensor}.
inline io::StateDict fixture_state(const nlohmann::json& j) {
  io::StateDict sd;
  for (const auto& [name, t] : j.items()) sd.insert(name, fixture_tensor(t));
  return sd;
}

/// Tensor `name` of the section `section` ("inputs", "outputs", ...) of case `c`.
inline Tensor layer_tensor(const std::string& c, const std::string& section, const std::string& name) {
  return fixture_tensor(layer_case(c).at(section).at(name));
}

/// Loads the PyTorch module's state of case `c` into `m` (strict, so the keys must agree).
inline void load_fixture_state(nn::Module& m, const std::string& c, const std::string& section = "state") {
  m.load_state_dict(fixture_state(layer_case(c).at(section)));
}

/// Expects m's state to equal the fixture's state `section` of case `c` (same keys and values;
/// int64 buffers exactly).
inline void expect_state(const nn::Module& m, const std::string& c, const std::string& section, double tol = 1e-6) {
  SCOPED_TRACE("state " + section + " of case " + c);
  const io::StateDict expected = fixture_state(layer_case(c).at(section));
  const io::StateDict actual = m.state_dict();
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [name, t] : expected) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(actual.contains(name));
    EXPECT_EQ(actual.at(name).dtype(), t.dtype());
    if (t.dtype() == DType::Int64)
      EXPECT_TRUE(tensors_identical(actual.at(name), t));
    else
      EXPECT_TENSOR_NEAR(actual.at(name), t, tol, tol);
  }
}

/// Expects m to print like PyTorch's repr and to have PyTorch's state_dict keys (in order),
/// shapes and dtypes.
inline void expect_pytorch_layout(const nn::Module& m, const std::string& c) {
  SCOPED_TRACE("layout of case " + c);
  const auto& attrs = layer_case(c).at("attrs");
  EXPECT_EQ(m.to_string(), attrs.at("repr").get<std::string>());
  std::vector<std::string> keys, dtypes;
  std::vector<Shape> shapes;
  for (const auto& [name, t] : m.state_dict()) {
    keys.push_back(name);
    shapes.push_back(t.shape());
    dtypes.emplace_back(dtype_name(t.dtype()));
  }
  EXPECT_EQ(keys, attrs.at("keys").get<std::vector<std::string>>());
  EXPECT_EQ(shapes, attrs.at("shapes").get<std::vector<Shape>>());
  EXPECT_EQ(dtypes, attrs.at("dtypes").get<std::vector<std::string>>());
}

/// Loads case `c`'s state into m, sets the case's train/eval mode, runs m on the fixture input,
/// backpropagates the stored output gradient, and compares the output and the gradients of the
/// input and of every parameter with PyTorch's.
inline void expect_forward_backward_match(nn::Module& m, const std::string& c, double tol = 1e-5) {
  SCOPED_TRACE("fixture case " + c);
  const auto& fc = layer_case(c);
  load_fixture_state(m, c);
  m.train(fc.at("attrs").at("train").get<bool>());
  Tensor x = layer_tensor(c, "inputs", "x").requires_grad_();
  Tensor out = m(x);
  EXPECT_TENSOR_NEAR(out, layer_tensor(c, "outputs", "out"), tol, tol);
  out.backward(layer_tensor(c, "inputs", "grad_out"));
  ASSERT_TRUE(x.grad().defined());
  EXPECT_TENSOR_NEAR(x.grad(), layer_tensor(c, "outputs", "grad_x"), tol, tol);
  for (const auto& [name, p] : m.named_parameters()) {
    SCOPED_TRACE("gradient of " + name);
    ASSERT_TRUE(p.grad().defined());
    EXPECT_TENSOR_NEAR(p.grad(), layer_tensor(c, "outputs", "grad_" + name), tol, tol);
  }
}

/// Gradcheck of m(x) with respect to x and every parameter of m (perturbed in place).
inline ::testing::AssertionResult module_gradchecks(nn::Module& m, const Tensor& x, const GradcheckOptions& o = {}) {
  TensorList inputs{x.detach().clone().requires_grad_()};
  for (const auto& p : m.parameters()) inputs.push_back(p);
  const GradcheckResult r = gradcheck([&m](const TensorList& in) { return m(in[0]); }, inputs, o);
  if (r.ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.message;
}

/// The message of the exception of type E that `f` throws ("" and a test failure otherwise).
template <typename E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected another exception type, got: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected an exception, none was thrown";
  return "";
}

}  // namespace shrink::testing
