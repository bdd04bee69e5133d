// run_pipeline: checks the inputs, then runs the stages in order (pipeline/stages/), measuring
// and checkpointing after every epoch and stage; resume rebuilds what the finished stages left
// attached and restores the checkpoint.
#include "pipeline/runner.h"

#include <chrono>
#include <filesystem>
#include <iostream>

#include "autograd/error.h"
#include "autograd/generator.h"
#include "autograd/ops.h"
#include "compression/config_list.h"
#include "compression/pruning/registry.h"
#include "compression/quantization/quantizer_registry.h"
#include "io/data/transforms.h"
#include "nn/checkpoint.h"
#include "nn/models/registry.h"
#include "pipeline/html_report.h"
#include "pipeline/stages/run_state.h"
#include "speedup/model_file.h"

namespace shrink::pipeline {
namespace {

using detail::RunState;

std::string at(const PipelineSpec& spec, std::size_t i, const std::string& key = "") {
  return spec.source + ": stages[" + std::to_string(i) + "]" + (key.empty() ? "" : "." + key);
}

/// What the stages leave attached, stage by stage: the combinations the runner cannot run are
/// ValueErrors naming the stage, before anything runs.
void check_plan(const PipelineSpec& spec) {
  SHRINK_CHECK(!spec.stages.empty(), spec.source, ": stages: expected at least one stage, got none");
  bool pruner = false, quantizer = false;
  for (std::size_t i = 0; i < spec.stages.size(); ++i) {
    const StageSpec& s = spec.stages[i];
    const auto exported = [&](const char* what) {
      return std::find(s.exports.begin(), s.exports.end(), what) != s.exports.end();
    };
    switch (s.type) {
      case StageType::Prune:
        SHRINK_CHECK(!pruner, at(spec, i), ": expected a speedup stage between two prune stages, got none");
        SHRINK_CHECK(!quantizer, at(spec, i), ": expected prune stages before the quantize stage, got one after it");
        SHRINK_CHECK(s.pruning_epochs > 0 || !s.schedule.empty() ||
                         (s.pruner != "taylorfo" && s.pruner != "apoz" && s.pruner != "mean_activation"),
                     at(spec, i, "pruning_epochs"), ": expected > 0 for the data-driven pruner ", s.pruner,
                     " (it collects its statistics while training), got ", s.pruning_epochs);
        pruner = true;
        break;
      case StageType::Quantize:
        SHRINK_CHECK(!quantizer, at(spec, i), ": expected one quantize stage, got a second one");
        SHRINK_CHECK(s.quantizer != "ptq" || s.calibration_batches > 0, at(spec, i, "calibration_batches"),
                     ": expected > 0 for ptq, got ", s.calibration_batches);
        quantizer = true;
        break;
      case StageType::Speedup:
        SHRINK_CHECK(!quantizer, at(spec, i), ": expected the speedup before the quantize stage, got it after");
        pruner = false;
        break;
      case StageType::Export:
        SHRINK_CHECK(!exported("masks") || (pruner && !quantizer), at(spec, i, "exports"),
                     ": expected \"masks\" only while a pruner is attached (after a prune stage, before a speedup "
                     "or quantize stage), got it without one");
        SHRINK_CHECK(!(exported("calibration") || exported("int8")) || quantizer, at(spec, i, "exports"),
                     ": expected \"calibration\" and \"int8\" only after a quantize stage, got them before one");
        break;
      case StageType::Distill:
        for (std::size_t j = 0; j < i; ++j) {
          const StageSpec& o = spec.stages[j];
          SHRINK_CHECK(o.type != StageType::Distill || o.end_epoch <= s.start_epoch || s.end_epoch <= o.start_epoch,
                       at(spec, i), ": expected distill stages on epochs no other distill stage has, got epochs ",
                       s.start_epoch, " to ", s.end_epoch - 1, ", which overlap those of stages[", j, "] (", o.start_epoch,
                       " to ", o.end_epoch - 1, ")");
        }
        break;
      case StageType::Sensitivity:
      case StageType::Train: break;
    }
  }
}

/// The model as the pipeline file names it, with its initial weights.
nn::ModulePtr build_model(const PipelineSpec& spec) {
  manual_seed(spec.training.seed);
  if (!spec.model.file.empty()) return io::load_model(spec.model.file);
  nn::ModulePtr model = models::create(spec.model.zoo);
  if (!spec.model.weights.empty()) nn::load_weights(*model, spec.model.weights);
  return model;
}

/// Each prune and quantize stage's compressor on a copy of the model, compressed: the name,
/// options and config_list are checked before any epoch; so are the distill stages' teachers and
/// configs (detail::check_distill_stages).
void dry_run(RunState& state) {
  for (std::size_t i = 0; i < state.spec.stages.size(); ++i) {
    const StageSpec& s = state.stage(i);
    if (s.type == StageType::Prune) {
      detail::at_stage(at(state.spec, i), "config_list", [&] {
        detail::make_stage_pruner(state, s, state.model->clone(), nullptr, nullptr).compress();
      });
    } else if (s.type == StageType::Quantize) {
      detail::at_stage(at(state.spec, i), "config_list",
                       [&] { detail::make_stage_quantizer(state, s, state.model->clone())->compress(); });
    } else if (s.type == StageType::Sensitivity) {
      detail::sensitivity_layers(state, at(state.spec, i));
    }
  }
  detail::check_distill_stages(state);
}

void load_data(RunState& state) {
  const DataSpec& d = state.spec.data;
  using detail::first_samples;
  state.train_set = first_samples(std::make_shared<data::FashionMNIST>(d.root, true), d.train_limit);
  state.test_set = first_samples(std::make_shared<data::FashionMNIST>(d.root, false), d.test_limit);
  auto normalize = std::make_shared<data::Normalize>(std::vector<float>{0.2860f}, std::vector<float>{0.3530f});
  state.normalize = normalize;
  std::shared_ptr<const data::Transform> train_transform = normalize;
  if (d.augment)
    train_transform = std::make_shared<data::Compose>(std::vector<std::shared_ptr<const data::Transform>>{
        std::make_shared<data::RandomCrop>(28, 2), std::make_shared<data::RandomHorizontalFlip>(0.5), normalize});
  state.train_loader = std::make_unique<data::DataLoader>(
      state.train_set,
      data::DataLoaderOptions{.batch_size = d.batch_size, .shuffle = true, .seed = 0, .transform = train_transform});
  state.test_loader = std::make_unique<data::DataLoader>(
      state.test_set, data::DataLoaderOptions{.batch_size = d.test_batch_size, .transform = normalize});
}

void run_stage(RunState& state, std::size_t i) {
  switch (state.stage(i).type) {
    case StageType::Train: return detail::run_train_stage(state, i);
    case StageType::Prune: return detail::run_prune_stage(state, i);
    case StageType::Quantize: return detail::run_quantize_stage(state, i);
    case StageType::Speedup: return detail::run_speedup_stage(state, i);
    case StageType::Export: return detail::run_export_stage(state, i);
    case StageType::Distill: return detail::run_distill_stage(state, i);
    case StageType::Sensitivity: return detail::run_sensitivity_stage(state, i);
  }
}

/// Rebuilds what stages [0, end) left attached, for a resumed run.
void replay(RunState& state, std::size_t end) {
  for (std::size_t i = 0; i < end; ++i) {
    switch (state.stage(i).type) {
      case StageType::Prune: detail::replay_prune_stage(state, i); break;
      case StageType::Quantize: detail::replay_quantize_stage(state, i); break;
      case StageType::Speedup: detail::replay_speedup_stage(state, i); break;
      default: break;
    }
  }
}

}  // namespace

namespace detail {

std::shared_ptr<const data::Dataset> first_samples(std::shared_ptr<const data::Dataset> set, std::int64_t n) {
  if (n <= 0 || n >= set->size()) return set;
  std::vector<std::int64_t> indices(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) indices[static_cast<std::size_t>(i)] = i;
  data::Batch b = set->get_batch(indices);
  return std::make_shared<data::TensorDataset>(b.data, b.targets);
}

}  // namespace detail

RunRecord run_pipeline(const PipelineSpec& spec, const RunOptions& options) {
  std::ostream& out = options.out ? *options.out : std::cout;
  RunState state(spec, options, out, zeros({1, 1, 28, 28}));
  // Inputs first: nothing is written before they are all good.
  check_plan(spec);
  const std::string checkpoint = state.path(detail::kCheckpointFile);
  if (options.resume) {
    state.resume = detail::read_run_checkpoint(spec, options.output_dir);
  } else {
    SHRINK_CHECK_STATE(!std::filesystem::exists(checkpoint), "run_pipeline: output_dir: expected a directory without "
                       "an earlier run, got '", checkpoint, "' (hint: resume it, or remove it or choose another "
                       "output directory)");
  }
  load_data(state);
  state.model = build_model(spec);
  dry_run(state);
  std::filesystem::create_directories(state.dir);

  std::size_t first = 0;
  if (state.resume) {
    const std::size_t stage = state.resume->stage;
    const bool done = state.resume->stage_done;
    replay(state, done ? stage + 1 : stage);
    if (done) detail::restore_run_checkpoint(state, nullptr, nullptr);
    first = done ? stage + 1 : stage;
  } else {
    state.record.pipeline = spec.source;
    state.record.model = spec.model.file.empty() ? spec.model.zoo : spec.model.file;
    StageRecord baseline;
    baseline.name = "baseline";
    detail::measure(state, baseline);
    state.record.baseline_accuracy = baseline.accuracy;
    state.record.baseline_params = baseline.params;
    state.record.baseline_macs = baseline.macs;
  }
  try {
    for (std::size_t i = first; i < spec.stages.size(); ++i) {
      const StageSpec& s = spec.stages[i];
      if (state.record.stages.size() <= i) {
        StageRecord fresh;
        fresh.name = s.name;
        fresh.type = stage_type_name(s.type);
        fresh.start_epoch = s.start_epoch;
        fresh.end_epoch = s.end_epoch;
        state.record.stages.push_back(fresh);
      }
      const auto t0 = std::chrono::steady_clock::now();
      run_stage(state, i);
      detail::save_teacher_snapshot(state, i);
      StageRecord& record = state.stage_record(i);
      detail::measure(state, record, s.type != StageType::Export && s.type != StageType::Distill);
      record.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      record.done = true;
      detail::save_run_checkpoint(state, i, s.epochs + s.pruning_epochs, true, nullptr, nullptr);
    }
  } catch (const detail::StopRequested&) {
    const std::string saved = state.path("run.json");  // none when stopped before the first epoch
    return std::filesystem::exists(saved) ? RunRecord::load(saved) : RunRecord{};
  }
  if (options.stop_after_epochs) return state.record;
  write_html_report(state.record, state.path("report.html"));
  return state.record;
}

}  // namespace shrink::pipeline
