// Fuzz target for checkpoint files: io::load_checkpoint (every part read), then
// nn::load_checkpoint into a small training run (model, SGD with momentum, StepLR, generator)
// and one training step with what was restored.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_input.h"
#include "fuzz/small_run.h"
#include "io/checkpoint.h"
#include "nn/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace shrink;
  const std::string path = fuzz::write_input(data, size, "input.ckpt.h5");
  fuzz::guard([&] {
    const io::Checkpoint c = io::load_checkpoint(path);
    std::uint64_t sum = fuzz::digest(c.model) + fuzz::digest(c.optimizer) + fuzz::digest(c.compressor_tensors);
    sum += static_cast<std::uint64_t>(c.epoch) + c.rng.size() + c.compressor.dump().size() + c.extra.dump().size();
    if (c.optimizer_groups) sum += c.optimizer_groups->dump().size();
    fuzz::consume(sum);
  });
  fuzz::guard([&] {
    fuzz::SmallRun run = fuzz::make_small_run();
    nn::load_checkpoint(path, *run.model, run.optimizer.get(), run.scheduler.get(), &run.rng);
    fuzz::train_step(run);
    fuzz::consume(fuzz::digest(run.model->state_dict()));
  });
  return 0;
}
