// The quantize stage, as examples/quantize_fmnist.cpp drives a quantizer: "ptq" calibrates on
// `calibration_batches` training batches and freezes; the others train `epochs` with the
// quantizer's step() after every optimizer step (LSQ's learned scales train too, without weight
// decay). QAT's "fold_bn": true folds every Conv-BN pair speedup::conv_bn_pairs finds. The
// quantizer stays attached for the later stages (export writes its files).
#include "autograd/grad_mode.h"
#include "autograd/warning.h"
#include "compression/config_list.h"
#include "compression/quantization/lsq_quantizer.h"
#include "compression/quantization/ptq_quantizer.h"
#include "compression/quantization/quantizer_registry.h"
#include "pipeline/stages/run_state.h"
#include "speedup/conv_bn_pairs.h"

namespace shrink::pipeline::detail {

std::unique_ptr<compression::Quantizer> make_stage_quantizer(const RunState& state, const StageSpec& stage,
                                                             nn::ModulePtr model) {
  nlohmann::json options = stage.quantizer_options;
  if (options.is_object() && options.contains("fold_bn") && options.at("fold_bn") == true)
    options["fold_bn"] = speedup::conv_bn_pairs(*model, state.example);
  return compression::make_quantizer(stage.quantizer, std::move(model),
                                     compression::ConfigList::parse(stage.config_list.dump()), options);
}

void replay_quantize_stage(RunState& state, std::size_t index) {
  state.quantizer = make_stage_quantizer(state, state.stage(index), state.model);
  state.quantizer_stage = index;
  WarningCollector shown_before;
  state.quantizer->compress();
}

void run_quantize_stage(RunState& state, std::size_t index) {
  const StageSpec& stage = state.stage(index);
  state.quantizer = make_stage_quantizer(state, stage, state.model);
  state.quantizer_stage = index;
  {
    WarningCollector shown_by_dry_run;
    state.quantizer->compress();
  }
  std::vector<optim::ParamGroup> groups{{state.model->named_parameters(), {}}};
  if (auto* lsq = dynamic_cast<compression::LSQQuantizer*>(state.quantizer.get()))
    groups.push_back({lsq->named_parameters(), {{"weight_decay", 0.0}}});
  auto optimizer = make_optimizer(stage.training, std::move(groups));
  auto scheduler = make_scheduler(stage.training, *optimizer, stage.epochs);
  const std::int64_t first = state.resume ? restore_run_checkpoint(state, optimizer.get(), scheduler.get()) : 0;

  if (auto* ptq = dynamic_cast<compression::PTQQuantizer*>(state.quantizer.get())) {
    if (ptq->is_calibrated()) return;
    data::DataLoader& loader = *state.train_loader;
    loader.set_epoch(static_cast<std::int64_t>(stage.training.seed) + stage.start_epoch);
    ptq->calibrate([&] {
      NoGradGuard no_grad;
      std::int64_t seen = 0;
      for (const data::Batch& batch : loader) {
        if (seen++ == stage.calibration_batches) break;
        (*state.model)(batch.data);
      }
    });
    state.out << stage.name << ": calibrated on " << std::min<std::int64_t>(stage.calibration_batches, loader.size())
              << " training batches\n";
    return;
  }
  compression::Quantizer* quantizer = state.quantizer.get();
  run_epochs(state, index, first, stage.epochs, *optimizer, scheduler.get(),
             {.extra_loss = {}, .after_step = [quantizer] { quantizer->step(); }}, "quantize");
}

}  // namespace shrink::pipeline::detail
