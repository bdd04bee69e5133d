#include "io/state_dict.h"

#include <gtest/gtest.h>

#include <type_traits>
#include <utility>

#include "tests/support/errors.h"

namespace shrink::io {
namespace {

StateDict three_entries() {
  StateDict sd;
  sd.insert("fc1.weight", from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2}));
  sd.insert("fc1.bias", from_vector(std::vector<float>{5, 6}, {2}));
  sd.insert("bn.running_mean", from_vector(std::vector<float>{7}, {1}));
  return sd;
}

// On an lvalue `at` hands out a reference into the map; on a temporary it must hand out a
// Tensor by value, because the map is destroyed at the end of the full expression.
static_assert(std::is_same_v<decltype(std::declval<StateDict&>().at("")), const Tensor&>);
static_assert(std::is_same_v<decltype(std::declval<const StateDict&>().at("")), const Tensor&>);
static_assert(std::is_same_v<decltype(std::declval<StateDict>().at("")), Tensor>);
static_assert(std::is_same_v<decltype(std::declval<const StateDict>().at("")), Tensor>);

TEST(StateDict, AtOnATemporaryOutlivesTheMap) {
  // The pattern that used to dangle: a reference bound to `at` of a temporary.
  const Tensor& bias = three_entries().at("fc1.bias");
  EXPECT_EQ(bias.shape(), Shape{2});
  EXPECT_EQ(bias.to_vector(), (std::vector<float>{5, 6}));
}

TEST(StateDict, AtOnAnLvalueAliasesTheStoredTensor) {
  StateDict sd = three_entries();
  const Tensor& w = sd.at("fc1.weight");
  sd.set("fc1.weight", from_vector(std::vector<float>{9, 9, 9, 9}, {2, 2}));
  EXPECT_EQ(w.to_vector(), (std::vector<float>{9, 9, 9, 9}));
}

TEST(StateDict, AtOnAMissingKeyNamesTheKeyAndSomePresentOnes) {
  testing::expect_message<IndexError>([] { (void)three_entries().at("fc2.weight"); },
                                      "StateDict: no key 'fc2.weight' (3 keys: fc1.weight, fc1.bias, bn.running_mean)");
  StateDict many;
  for (int i = 0; i < 7; ++i) many.insert("t" + std::to_string(i), from_vector(std::vector<float>{0}, {1}));
  testing::expect_message<IndexError>([&] { (void)many.at("x"); },
                                      "StateDict: no key 'x' (7 keys: t0, t1, t2, t3, t4, ...)");
}

TEST(StateDict, InsertRefusesADuplicateAndSetReplacesInPlace) {
  StateDict sd = three_entries();
  testing::expect_message<ValueError>([&] { sd.insert("fc1.bias", from_vector(std::vector<float>{0}, {1})); },
                                      "StateDict::insert: expected a new key, got duplicate 'fc1.bias'");
  sd.set("fc1.bias", from_vector(std::vector<float>{0}, {1}));
  EXPECT_EQ(sd.keys(), (std::vector<std::string>{"fc1.weight", "fc1.bias", "bn.running_mean"}));
  EXPECT_EQ(sd.at("fc1.bias").shape(), Shape{1});
}

TEST(StateDict, EraseKeepsTheOrderAndTheIndexOfTheOthers) {
  StateDict sd = three_entries();
  EXPECT_TRUE(sd.erase("fc1.weight"));
  EXPECT_FALSE(sd.erase("fc1.weight"));
  EXPECT_EQ(sd.keys(), (std::vector<std::string>{"fc1.bias", "bn.running_mean"}));
  EXPECT_EQ(sd.at("bn.running_mean").to_vector(), (std::vector<float>{7}));
  EXPECT_EQ(sd.at("fc1.bias").to_vector(), (std::vector<float>{5, 6}));
}

}  // namespace
}  // namespace shrink::io
