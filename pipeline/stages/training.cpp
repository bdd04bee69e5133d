// The training loop of the pipeline's stages: optimizers by name, one epoch, evaluation, and the
// epoch loop with its record and checkpoint.
#include <chrono>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "io/metrics.h"
#include "nn/optim/adam.h"
#include "nn/optim/rmsprop.h"
#include "nn/optim/sgd.h"
#include "pipeline/stages/run_state.h"

namespace shrink::pipeline::detail {

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainingSpec& t, std::vector<optim::ParamGroup> groups) {
  if (t.optimizer == "adam")
    return std::make_unique<optim::Adam>(std::move(groups), optim::AdamOptions(t.lr).weight_decay(t.weight_decay));
  if (t.optimizer == "rmsprop")
    return std::make_unique<optim::RMSprop>(
        std::move(groups), optim::RMSpropOptions(t.lr).momentum(t.momentum).weight_decay(t.weight_decay));
  SHRINK_CHECK(t.optimizer == "sgd", "run_pipeline: training.optimizer: expected one of sgd, adam, rmsprop, got \"",
               t.optimizer, "\"");
  return std::make_unique<optim::SGD>(std::move(groups),
                                      optim::SGDOptions(t.lr).momentum(t.momentum).weight_decay(t.weight_decay));
}

std::unique_ptr<optim::LRScheduler> make_scheduler(const TrainingSpec& t, optim::Optimizer& optimizer,
                                                   std::int64_t epochs) {
  if (t.lr_schedule == "constant") return nullptr;
  SHRINK_CHECK(t.lr_schedule == "cosine", "run_pipeline: training.lr_schedule: expected one of cosine, constant, got \"",
               t.lr_schedule, "\"");
  return std::make_unique<optim::CosineAnnealingLR>(optimizer, std::max<std::int64_t>(epochs, 1));
}

namespace {

io::ProgressOptions progress_options(const RunState& state, const std::string& label) {
  io::ProgressOptions o;
  o.description = label;
  o.out = &state.out;
  o.interactive = state.options.interactive;
  return o;
}

}  // namespace

EpochRecord train_one_epoch(RunState& state, std::size_t stage, std::int64_t epoch, optim::Optimizer& optimizer,
                            const StepHooks& hooks, const std::string& label) {
  nn::Module& model = *state.model;
  data::DataLoader& loader = *state.train_loader;
  loader.set_epoch(static_cast<std::int64_t>(state.stage(stage).training.seed) + epoch);
  model.train();
  EpochRecord record{.epoch = epoch, .lr = optimizer.lr()};
  io::Progress progress(loader.size(), progress_options(state, label));
  io::RunningMean accuracy, loss_mean;
  const auto t0 = std::chrono::steady_clock::now();
  std::int64_t images = 0;
  const std::unique_ptr<compression::Distiller> distiller = epoch_distiller(state, epoch);
  for (const data::Batch& batch : loader) {
    const Tensor logits = model(batch.data);
    Tensor loss = distiller ? distill_loss(*distiller, batch, logits) : cross_entropy(logits, batch.targets);
    if (hooks.extra_loss) loss = loss + hooks.extra_loss();
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    if (hooks.after_step) hooks.after_step();
    const auto n = batch.targets.size(0);
    images += n;
    accuracy.update(io::accuracy(logits.detach(), batch.targets), static_cast<double>(n));
    loss_mean.update(loss.item(), static_cast<double>(n));
    progress.step(n, loss.item());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  progress.finish({{"acc", accuracy.mean()}, {"lr", optimizer.lr()}});
  record.train_loss = loss_mean.mean();
  record.train_accuracy = accuracy.mean();
  record.images_per_second = seconds > 0 ? static_cast<double>(images) / seconds : 0;
  return record;
}

double evaluate(RunState& state, const std::string& label) { return evaluate(state, *state.test_loader, label); }

double evaluate(RunState& state, data::DataLoader& loader, const std::string& label) {
  NoGradGuard no_grad;
  nn::Module& model = *state.model;
  model.eval();
  io::Progress progress(loader.size(), progress_options(state, label));
  std::int64_t correct = 0, seen = 0;
  for (const data::Batch& batch : loader) {
    const Tensor logits = model(batch.data);
    correct += io::correct_topk(logits, batch.targets);
    seen += batch.targets.size(0);
    progress.step(batch.targets.size(0), cross_entropy(logits, batch.targets).item());
  }
  const double top1 = seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
  progress.finish({{"acc", top1}});
  return top1;
}

void run_epochs(RunState& state, std::size_t stage, std::int64_t first, std::int64_t count,
                optim::Optimizer& optimizer, optim::LRScheduler* scheduler, const StepHooks& hooks,
                const std::string& label, const std::function<void(std::int64_t)>& before_epoch) {
  const StageSpec& spec = state.stage(stage);
  StageRecord& record = state.stage_record(stage);
  for (std::int64_t i = first; i < count; ++i) {
    // Stopped where a run killed between two epochs would stop: after the stages that take no
    // epochs, right before the next epoch.
    if (state.options.stop_after_epochs && state.epochs_done >= *state.options.stop_after_epochs) throw StopRequested{};
    const std::int64_t epoch = spec.start_epoch + i;
    if (before_epoch) before_epoch(i);
    EpochRecord e = train_one_epoch(state, stage, epoch, optimizer, hooks,
                                    spec.name + " " + label + " " + std::to_string(i + 1) + "/" + std::to_string(count));
    if (scheduler) scheduler->step();
    e.test_accuracy = evaluate(state, "  test");
    record.epochs.push_back(e);
    ++state.epochs_done;
    save_run_checkpoint(state, stage, i + 1, false, &optimizer, scheduler);
  }
}

}  // namespace shrink::pipeline::detail
