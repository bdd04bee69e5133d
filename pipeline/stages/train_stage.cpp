// The train stage: `epochs` epochs of the stage's recipe on the model as it is (masks of a
// pruner and fake quantization of a quantizer attached earlier stay in the forward graph).
#include "pipeline/stages/run_state.h"

namespace shrink::pipeline::detail {

void run_train_stage(RunState& state, std::size_t index) {
  const StageSpec& stage = state.stage(index);
  std::vector<optim::ParamGroup> groups{{state.model->named_parameters(), {}}};
  auto optimizer = make_optimizer(stage.training, std::move(groups));
  auto scheduler = make_scheduler(stage.training, *optimizer, stage.epochs);
  const std::int64_t first = state.resume ? restore_run_checkpoint(state, optimizer.get(), scheduler.get()) : 0;
  run_epochs(state, index, first, stage.epochs, *optimizer, scheduler.get(), {}, "train");
}

}  // namespace shrink::pipeline::detail
