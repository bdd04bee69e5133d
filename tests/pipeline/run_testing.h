#pragma once
/// \file
/// Helpers of the run_pipeline tests: whether Fashion-MNIST is installed, quiet run options, the
/// numbers a run recorded, and bitwise comparison of two weight files.

#include <gtest/gtest.h>

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "io/data/dataset.h"
#include "io/state_dict_file.h"
#include "pipeline/runner.h"

namespace shrink::testing {

inline bool have_fmnist() {
  return std::filesystem::exists(std::string(data::FashionMNIST::kDefaultRoot) + "/t10k-images-idx3-ubyte.gz");
}

/// Options writing into `dir`, progress as plain lines into `out`.
inline pipeline::RunOptions quiet(const std::string& dir, std::ostream& out) {
  pipeline::RunOptions o;
  o.output_dir = dir;
  o.out = &out;
  o.interactive = false;
  return o;
}

/// Every stage's accuracy (-1 when absent) and every epoch's test accuracy and training loss.
inline std::vector<double> accuracies(const pipeline::RunRecord& r) {
  std::vector<double> a;
  for (const auto& s : r.stages) {
    a.push_back(s.accuracy.value_or(-1));
    for (const auto& e : s.epochs) a.push_back(e.test_accuracy), a.push_back(e.train_loss);
  }
  return a;
}

/// The two state_dict files hold the same keys with bitwise equal values.
inline void expect_same_weights(const std::string& a, const std::string& b) {
  const io::StateDict x = io::load_state_dict(a), y = io::load_state_dict(b);
  ASSERT_EQ(x.size(), y.size());
  for (const auto& [name, t] : x) {
    ASSERT_TRUE(y.contains(name)) << name;
    EXPECT_EQ(t.to_vector(), y.at(name).to_vector()) << name;
  }
}

}  // namespace shrink::testing
