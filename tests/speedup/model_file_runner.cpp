// model_file_runner <model.h5> <input.h5> <out.h5>: a program that knows nothing of the model it
// runs. It loads a model file with io::load_model, runs it in eval mode on the dataset "input" of
// <input.h5> and writes the result as the dataset "logits" of <out.h5>; it prints the model's
// node count and the output shape. Errors go to stderr as "model_file_runner: <message>", exit
// status 1 (2 for a usage error). model_file_process_test runs it in a separate process.
#include <iostream>
#include <string>

#include "autograd/grad_mode.h"
#include "io/state_dict_file.h"
#include "speedup/model_file.h"

int main(int argc, char** argv) {
  using namespace shrink;
  if (argc != 4) {
    std::cerr << "usage: model_file_runner <model.h5> <input.h5> <out.h5>\n";
    return 2;
  }
  try {
    const std::shared_ptr<speedup::GraphModule> model = io::load_model(argv[1]);
    const Tensor input = io::load_state_dict(argv[2]).at("input");
    NoGradGuard no_grad;
    io::StateDict out;
    out.insert("logits", (*model)(input));
    io::save_state_dict(out, argv[3]);
    std::cout << argv[1] << ": " << model->graph().nodes.size() << " nodes, output " << shape_str(out.at("logits").shape())
              << "\n";
  } catch (const std::exception& e) {
    std::cerr << "model_file_runner: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
