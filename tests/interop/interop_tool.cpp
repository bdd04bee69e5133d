// The C++ half of the PyTorch interop check (state_dict_interop.py drives it):
//
//   interop_tool save   <model> <seed> <weights.h5> <io.h5>
//       builds zoo model <model> from <seed>, moves its BatchNorm statistics with a few
//       training-mode forwards, writes its weights with nn::save_weights, and writes an input
//       batch and the model's eval-mode logits for it to <io.h5> (datasets "input", "logits").
//   interop_tool save_model <model> <seed> <model.h5> <io.h5>
//       the same model as `save`, written as a model file (io::save_model, traced on a batch of
//       one), with the same <io.h5>. <model> may also be "every_op", the test model of
//       tests/speedup/every_op_model.h (every replayable op and every layer type).
//   interop_tool logits <model> <weights.h5> <input.h5> <out.h5>
//       builds <model>, loads <weights.h5> (e.g. a PyTorch state_dict written with h5py) with
//       nn::load_weights, and writes the eval-mode logits of the dataset "input" of <input.h5>
//       to <out.h5> (dataset "logits").
#include <cstdint>
#include <iostream>
#include <string>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "io/state_dict_file.h"
#include "nn/checkpoint.h"
#include "nn/models/registry.h"
#include "speedup/model_file.h"
#include "tests/speedup/every_op_model.h"

using namespace shrink;

namespace {

int usage() {
  std::cerr << "usage: interop_tool save <model> <seed> <weights.h5> <io.h5>\n"
               "       interop_tool save_model <model> <seed> <model.h5> <io.h5>\n"
               "       interop_tool logits <model> <weights.h5> <input.h5> <out.h5>\n";
  return 2;
}

/// Zoo model `name`, or "every_op": the test model holding every replayable op and layer type.
nn::ModulePtr create_model(const std::string& name) {
  if (name == "every_op") return std::make_shared<testing::EveryOpModel>();
  return models::create(name);
}

Tensor eval_logits(nn::Module& model, const Tensor& input) {
  NoGradGuard no_grad;
  model.eval();
  return model(input);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) return usage();
  const std::string command = argv[1], model_name = argv[2];
  try {
    if (command == "save" || command == "save_model") {
      const std::uint64_t seed = std::stoull(argv[3]);
      manual_seed(seed);
      nn::ModulePtr model = create_model(model_name);
      Generator gen(seed + 1000);
      {
        // Non-trivial running statistics (and num_batches_tracked = 3) for the models with BN.
        NoGradGuard no_grad;
        model->train();
        for (int i = 0; i < 3; ++i) (*model)(randn({8, 1, 28, 28}, &gen) * 0.5f + 0.3f);
      }
      if (command == "save") nn::save_weights(*model, argv[4]);
      else io::save_model(*model, zeros({1, 1, 28, 28}), argv[4]);
      io::StateDict io_file;
      const Tensor input = randn({4, 1, 28, 28}, &gen);
      io_file.insert("input", input);
      io_file.insert("logits", eval_logits(*model, input));
      io::save_state_dict(io_file, argv[5]);
    } else if (command == "logits") {
      nn::ModulePtr model = models::create(model_name);
      nn::load_weights(*model, argv[3]);
      const Tensor input = io::load_state_dict(argv[4]).at("input");
      io::StateDict out;
      out.insert("logits", eval_logits(*model, input));
      io::save_state_dict(out, argv[5]);
    } else {
      return usage();
    }
  } catch (const std::exception& e) {
    std::cerr << "interop_tool: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
