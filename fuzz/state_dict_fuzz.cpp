// Fuzz target for state_dict files: io::load_state_dict, then nn::load_weights into a small
// model (strict or not, by the input's parity) and a forward pass with the loaded weights.
#include <cstdint>
#include <string>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/small_run.h"
#include "io/state_dict_file.h"
#include "nn/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shrink;
  const std::string path = fuzz::write_input(data, size, "input.h5");
  fuzz::guard([&] { fuzz::consume(fuzz::digest(io::load_state_dict(path))); });
  fuzz::guard([&] {
    fuzz::SmallRun run = fuzz::make_small_run();
    nn::load_weights(*run.model, path, /*strict=*/size % 2 == 0);
    NoGradGuard no_grad;
    run.model->eval();
    fuzz::consume(fuzz::digest((*run.model)(ones({2, 4}))));
  });
  return 0;
}
