// The sensitivity stage, as examples/sensitivity_fmnist.cpp measures it: each layer alone loses
// the fraction `ratio` of its output channels with the lowest L1 norm
// (compression::filter_pruning(1)) and the model is evaluated on the first `sensitivity_images`
// test images; compression::analyze_sensitivity restores every value bit-identically afterwards,
// so the model leaves the stage as it came. The layers are the Conv2d and Linear layers except a
// last Linear (its outputs are the classes). The curves go into the stage's record (report.html
// draws them) and into `<stage>.sensitivity.json`.
#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "compression/analysis/counting.h"
#include "compression/analysis/sensitivity.h"
#include "compression/pruning/layer_pruning.h"
#include "io/atomic_write.h"
#include "pipeline/stages/run_state.h"

namespace shrink::pipeline::detail {

std::vector<std::string> sensitivity_layers(const RunState& state, const std::string& where) {
  std::vector<std::string> layers;
  std::string last_type;
  for (const auto& l : compression::count_layers(*state.model, state.example.shape())) {
    if (l.type != "Conv2d" && l.type != "Linear") continue;
    layers.push_back(l.name);
    last_type = l.type;
  }
  if (last_type == "Linear") layers.pop_back();
  SHRINK_CHECK(!layers.empty(), where, ": expected a model with a Conv2d layer or a Linear layer before the last one, "
               "got none (nothing to prune)");
  return layers;
}

void run_sensitivity_stage(RunState& state, std::size_t index) {
  const StageSpec& stage = state.stage(index);
  const std::string where = state.spec.source + ": stages[" + std::to_string(index) + "]";
  const std::vector<std::string> layers = sensitivity_layers(state, where);
  // The first sensitivity_images test images: from the run's test images when they are enough.
  std::shared_ptr<const data::Dataset> images = state.test_set;
  if (stage.sensitivity_images > images->size())
    images = std::make_shared<data::FashionMNIST>(state.spec.data.root, false);
  images = first_samples(images, stage.sensitivity_images);
  data::DataLoader loader(images,
                          data::DataLoaderOptions{.batch_size = state.spec.data.test_batch_size, .transform = state.normalize});
  std::int64_t evaluations = 0;
  const std::int64_t total = static_cast<std::int64_t>(layers.size() * stage.ratios.size()) + 1;
  const compression::EvalFn eval = [&](nn::Module&) {
    ++evaluations;
    return evaluate(state, loader, "  " + stage.name + " " + std::to_string(evaluations) + "/" + std::to_string(total));
  };
  const compression::Sensitivities sens = compression::analyze_sensitivity(
      *state.model, layers, eval, compression::filter_pruning(1), {.ratios = stage.ratios, .cache_path = ""});

  StageRecord& record = state.stage_record(index);
  record.sensitivity = SensitivityRecord{.baseline = sens.baseline, .ratios = sens.ratios, .accuracy = sens.metrics};
  const std::string file = stage.name + ".sensitivity.json";
  const nlohmann::json j = {{"criterion", "l1 filter pruning of one layer at a time"},
                            {"images", images->size()},
                            {"baseline", sens.baseline},
                            {"ratios", sens.ratios},
                            {"layers", layers},
                            {"accuracy", sens.metrics}};
  io::write_text_atomically(state.path(file), "sensitivity stage", j.dump(1) + "\n");
  record.files.push_back(file);
  record.file_bytes = file_bytes(state, file);
  state.out << stage.name << ": " << layers.size() << " layers x " << sens.ratios.size() << " ratios on "
            << images->size() << " test images (top-1 unpruned " << sens.baseline << "); " << file << "\n";
}

}  // namespace shrink::pipeline::detail
