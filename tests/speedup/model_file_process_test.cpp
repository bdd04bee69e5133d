// A model file loads and runs in another process that has none of the model's code
// (model_file_runner links only Shrink and calls io::load_model): its logits equal the saver's
// bit for bit, for every zoo model; a bad file makes it fail with the reader's message.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sys/wait.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "io/state_dict_file.h"
#include "nn/models/registry.h"
#include "speedup/model_file.h"
#include "tests/io/temp_dir.h"

namespace shrink::io {
namespace {

using shrink::testing::TempDir;

struct RunnerResult {
  int status = -1;
  std::string out, err;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Runs model_file_runner on the model file, the input file and the output file of `dir`.
RunnerResult run_runner(const TempDir& dir, const std::string& model_file) {
  const std::string command = std::string("'") + SHRINK_MODEL_FILE_RUNNER + "' '" + model_file + "' '" +
                              dir.file("input.h5") + "' '" + dir.file("out.h5") + "' > '" + dir.file("stdout") +
                              "' 2> '" + dir.file("stderr") + "'";
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(dir.file("stdout")), read_text(dir.file("stderr"))};
}

class ZooModelFileProcess : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooModelFileProcess, AnotherProcessComputesTheSaversLogitsBitwise) {
  TempDir dir;
  manual_seed(21);
  nn::ModulePtr model = models::create(GetParam());
  {
    NoGradGuard no_grad;  // non-trivial BatchNorm statistics
    model->train();
    for (int i = 0; i < 2; ++i) (*model)(randn({8, 1, 28, 28}));
  }
  model->eval();
  save_model(*model, zeros({1, 1, 28, 28}), dir.file("model.h5"));
  StateDict input;
  input.insert("input", randn({4, 1, 28, 28}));
  save_state_dict(input, dir.file("input.h5"));
  Tensor expected;
  {
    NoGradGuard no_grad;
    expected = (*model)(input.at("input"));
  }

  const RunnerResult run = run_runner(dir, dir.file("model.h5"));
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out.rfind(dir.file("model.h5") + ": ", 0), 0u) << run.out;
  const Tensor got = load_state_dict(dir.file("out.h5")).at("logits");
  ASSERT_EQ(got.shape(), expected.shape());
  EXPECT_EQ(std::memcmp(got.data<float>(), expected.data<float>(), sizeof(float) * static_cast<std::size_t>(got.numel())), 0);
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooModelFileProcess, ::testing::ValuesIn(models::names()));

TEST(ModelFileProcess, AWeightsFileInsteadOfAModelFileFailsWithTheReadersMessage) {
  TempDir dir;
  nn::ModulePtr model = models::create("mlp");
  save_state_dict(model->state_dict(), dir.file("weights.h5"));
  StateDict input;
  input.insert("input", zeros({1, 1, 28, 28}));
  save_state_dict(input, dir.file("input.h5"));
  const RunnerResult run = run_runner(dir, dir.file("weights.h5"));
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.err, "model_file_runner: load_model: '" + dir.file("weights.h5") +
                         "': expected format 'shrink.model', got 'shrink.state_dict' (Hint: this is a weights file; "
                         "read it with nn::load_weights or io::load_state_dict)\n");
}

}  // namespace
}  // namespace shrink::io
