#pragma once
/// \file
/// Reading the PyTorch fixtures (tests/fixtures/*.json, written by tests/fixtures/gen_*.py) and
/// comparing tensors in tests.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "autograd/tensor.h"

namespace shrink::testing {

/// The parsed fixture file tests/fixtures/<family>.json (cached per process).
const nlohmann::json& fixture_file(const std::string& family);
/// The case `name` of a fixture family; fails the test if absent.
const nlohmann::json& fixture_case(const std::string& family, const std::string& name);
/// A tensor stored as {"shape": [...], "dtype": "float32"|"int64"|..., "data": [...]}.
Tensor fixture_tensor(const nlohmann::json& j);

/// Checks shapes equal and |a-b| <= atol + rtol*|b| elementwise; reports the worst element.
::testing::AssertionResult tensors_close(const Tensor& actual, const Tensor& expected, double atol = 1e-5,
                                         double rtol = 1e-5);
/// Bit-for-bit equality of two float tensors (shape and every element).
::testing::AssertionResult tensors_identical(const Tensor& a, const Tensor& b);

}  // namespace shrink::testing

#define EXPECT_TENSOR_NEAR(actual, expected, ...) \
  EXPECT_TRUE(::shrink::testing::tensors_close((actual), (expected), ##__VA_ARGS__))
