// fuzz_seeds <dir>: writes the seed inputs of the fuzz targets with the project's own writers
// (and the idx helpers of the test suite) into <dir>/{idx,state_dict,masks,quantized_file,checkpoint,
// model_file,pipeline_spec,run_record}. Each file is small (a few KB) so that mutations stay fast; together they cover
// every dtype, 0-d tensors, empty files, gzip, every part of a checkpoint, and model files whose
// graphs hold convolutions, BatchNorm, pooling and the functional ops add, mul_scalar, cat and
// flatten.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "fuzz/small_run.h"
#include "io/checkpoint.h"
#include "io/hdf5_file.h"
#include "io/quantized_file.h"
#include "io/state_dict_file.h"
#include "nn/checkpoint.h"
#include "nn/layers.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/run_record.h"
#include "speedup/model_file.h"
#include "tests/io/idx_files.h"
#include "tests/pipeline/report_records.h"

namespace {

using namespace shrink;
namespace fs = std::filesystem;

void write_idx(const fs::path& dir) {
  using namespace shrink::testing;
  write_file((dir / "images-2x28x28").string(), idx_images(2, 28, 28, pattern_pixels(2)), false);
  write_file((dir / "images-3x28x28.gz").string(), idx_images(3, 28, 28, pattern_pixels(3)), true);
  write_file((dir / "images-0x28x28").string(), idx_images(0, 28, 28, {}), false);
  write_file((dir / "images-2x4x5").string(), idx_images(2, 4, 5, std::vector<std::uint8_t>(40, 7)), false);
  write_file((dir / "labels-10").string(), idx_labels(pattern_labels(10)), false);
  write_file((dir / "labels-3.gz").string(), idx_labels(pattern_labels(3)), true);
}

/// Every dtype a state_dict file holds, a 0-d tensor and dotted names (as in the io tests).
io::StateDict every_dtype() {
  Generator gen(11);
  io::StateDict sd;
  sd.insert("features.0.weight", randn({4, 1, 3, 3}, &gen));
  sd.insert("features.0.bias", randn({4}, &gen));
  sd.insert("bn.num_batches_tracked", from_vector(std::vector<std::int64_t>{17}, {}).view_as_shape({}));
  sd.insert("q.weight", from_vector(std::vector<std::int8_t>{-128, -1, 0, 127}, {2, 2}));
  sd.insert("q.mask", from_vector(std::vector<std::uint8_t>{0, 1, 255}, {3}));
  return sd;
}

/// A 0/1 mask for every weight of the small model.
io::StateDict weight_masks(const nn::Module& model) {
  io::StateDict masks;
  for (const auto& [name, p] : model.named_parameters()) {
    if (p.dim() < 2) continue;
    std::vector<std::uint8_t> bits(static_cast<std::size_t>(p.numel()));
    for (std::size_t i = 0; i < bits.size(); ++i) bits[i] = i % 3 != 0;
    masks.insert(name, from_vector(bits, p.shape()));
  }
  return masks;
}

void write_state_dicts(const fs::path& dir, const fuzz::SmallRun& run) {
  nn::save_weights(*run.model, (dir / "small_model.h5").string());
  io::save_state_dict(every_dtype(), (dir / "every_dtype.h5").string());
  io::save_state_dict(io::StateDict(), (dir / "empty.h5").string());
}

void write_masks(const fs::path& dir, const fuzz::SmallRun& run) {
  io::save_masks(weight_masks(*run.model), (dir / "small_model.masks.h5").string());
  io::StateDict one;
  one.insert("conv.weight", from_vector(std::vector<std::uint8_t>{1, 0, 1, 1, 0}, {5}));
  io::save_masks(one, (dir / "one.masks.h5").string());
}

/// Per-channel int8 (symmetric, scale max|w|/127 per output channel) for every weight of the small
/// model, the rest unquantized; and a per-tensor uint8 tensor with an int64 zero point.
void write_quantized(const fs::path& dir, const fuzz::SmallRun& run) {
  io::QuantizedFile file;
  for (const auto& [name, t] : run.model->state_dict()) {
    if (t.dtype() != DType::Float32 || t.dim() < 2) {
      file.unquantized.insert(name, t);
      continue;
    }
    const std::int64_t rows = t.size(0), cols = t.numel() / rows;
    std::vector<float> scale(static_cast<std::size_t>(rows));
    for (std::int64_t r = 0; r < rows; ++r) {
      float amax = 1e-6f;
      for (std::int64_t k = 0; k < cols; ++k) amax = std::max(amax, std::abs(t.data<float>()[r * cols + k]));
      scale[r] = amax / 127.0f;
    }
    file.quantized.push_back(io::quantize(name, t, from_vector(scale, {rows}),
                                          from_vector(std::vector<float>(scale.size(), 0.0f), {rows}), 0, 8, -127,
                                          127, DType::Int8));
  }
  io::save_quantized((dir / "small_model.quantized.h5").string(), file);
  io::QuantizedFile one;
  one.quantized.push_back(io::quantize("emb.weight", from_vector(std::vector<float>{-1, -0.5, 0, 0.25, 1, 2}, {2, 3}),
                                       from_vector(std::vector<float>{0.0125f}, {1}),
                                       from_vector(std::vector<std::int64_t>{80}, {1}), -1, 8, 0, 255, DType::UInt8));
  io::save_quantized((dir / "one.quantized.h5").string(), one);
}

void write_checkpoints(const fs::path& dir, fuzz::SmallRun& run) {
  // Every part: model, optimizer (momentum buffers after two steps), scheduler, generator,
  // compressor state and tensors, extra.
  io::Checkpoint full = nn::make_checkpoint(*run.model, run.optimizer.get(), run.scheduler.get(), 2, &run.rng);
  full.compressor = {{"pruner", "level"}, {"sparsity", 0.5}, {"step", 3}};
  full.compressor_tensors = weight_masks(*run.model);
  full.extra = {{"best_accuracy", 0.875}, {"argv", {"train", "--epochs", "2"}}};
  io::save_checkpoint(full, (dir / "full.ckpt.h5").string());
  // Model and epoch only.
  nn::save_checkpoint((dir / "model_only.ckpt.h5").string(), *run.model, nullptr, nullptr, 0, nullptr);
}

/// A small conv net whose graph has a residual add, a scaled branch and a cat.
class SeedNet : public nn::Cloneable<SeedNet> {
 public:
  SeedNet() : Cloneable("SeedNet") {
    nn::Conv2dOptions grouped{2, 2, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 2, false};
    register_module("conv", std::make_shared<nn::Conv2d>(1, 2, 3, 1, 1));
    register_module("bn", std::make_shared<nn::BatchNorm2d>(2));
    register_module("act", std::make_shared<nn::ReLU6>());
    register_module("dw", std::make_shared<nn::Conv2d>(grouped));
    register_module("pool", std::make_shared<nn::AvgPool2d>(2));
    register_module("fc", std::make_shared<nn::Linear>(16, 3));
  }

 protected:
  Tensor forward(const Tensor& x) override {
    const Tensor h = (*child("act"))((*child("bn"))((*child("conv"))(x)));
    const Tensor r = h + (*child("dw"))(h);
    const Tensor c = cat({r, r * 0.5f}, 1);
    return (*child("fc"))(flatten((*child("pool"))(c), 1, -1));
  }
};

/// Each model file, and its graph attribute alone as text (model_file_fuzz's JSON inputs).
void write_model_files(const fs::path& dir, fuzz::SmallRun& run) {
  SeedNet net;
  const std::vector<std::pair<std::string, nn::Module*>> models = {{"small_run", run.model.get()}, {"seed_net", &net}};
  for (const auto& [name, model] : models) {
    const std::string path = (dir / (name + ".model.h5")).string();
    io::save_model(*model, zeros(name == "small_run" ? Shape{2, 4} : Shape{1, 1, 4, 4}), path);
    std::ofstream((dir / (name + ".graph.json")).string()) << *io::H5File::open_read(path, "fuzz_seeds").string_attr("", "graph");
  }
}

/// Pipeline files as PipelineSpec::to_json writes them: the demo's stages, and one with every
/// other stage type (distill from an earlier stage, a scheduled data-driven pruner, ptq,
/// sensitivity, chosen exports).
void write_pipelines(const fs::path& dir) {
  const char* const demo = R"({"model": {"zoo": "naive"}, "stages": [
      {"type": "train", "name": "dense", "epochs": 2},
      {"type": "prune", "pruner": "l1norm", "config_list": [{"op_types": ["Conv2d"], "sparsity": 0.5}], "epochs": 1},
      {"type": "speedup"},
      {"type": "quantize", "quantizer": "qat", "quantizer_options": {"fold_bn": true},
       "config_list": [{"op_types": ["Conv2d", "Linear"], "quant_types": ["weight", "input", "output"], "quant_bits": 8}],
       "epochs": 1},
      {"type": "export"}]})";
  const char* const other = R"({"model": {"zoo": "lenet5"}, "data": {"train_limit": 300, "augment": true},
      "training": {"optimizer": "adam", "lr": 0.001, "lr_schedule": "constant"}, "stages": [
      {"type": "train", "epochs": 1},
      {"type": "distill", "teacher_stage": "train", "distill_config": [{"loss": "soft_label", "temperature": 2},
       {"loss": "l2", "student": "conv2", "teacher": "conv2", "weight": 0.1}], "end_epoch": 3},
      {"type": "prune", "pruner": "slim", "pruner_options": {"scale": 0.0001},
       "config_list": [{"op_types": ["BatchNorm2d"], "total_sparsity": 0.3}], "schedule": "agp",
       "schedule_options": {"total_iteration": 2}, "pruning_epochs": 1, "epochs": 1, "training": {"lr": 0.01}},
      {"type": "sensitivity", "ratios": [0.25, 0.5]},
      {"type": "quantize", "quantizer": "ptq", "calibration_batches": 2,
       "config_list": [{"op_types": ["Conv2d"], "quant_types": ["weight"], "quant_bits": {"weight": 8}}]},
      {"type": "export", "exports": ["weights", "calibration"]}]})";
  int i = 0;
  for (const char* text : {demo, other})
    std::ofstream((dir / ("pipeline-" + std::to_string(i++) + ".json")).string())
        << pipeline::PipelineSpec::parse_text(text, "fuzz_seeds").to_json().dump();
}

/// Run records as RunRecord::save writes them: the report tests' four-stage run and an empty one.
void write_run_records(const fs::path& dir) {
  pipeline::testing::sample_run().save((dir / "sample.run.json").string());
  pipeline::testing::empty_run().save((dir / "empty.run.json").string());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seeds <output directory>\n";
    return 2;
  }
  try {
    const fs::path out = argv[1];
    for (const char* sub :
         {"idx", "state_dict", "masks", "quantized_file", "checkpoint", "model_file", "pipeline_spec", "run_record"})
      fs::create_directories(out / sub);
    manual_seed(0);
    fuzz::SmallRun run = fuzz::make_small_run();
    fuzz::train_step(run);
    fuzz::train_step(run);
    write_idx(out / "idx");
    write_state_dicts(out / "state_dict", run);
    write_masks(out / "masks", run);
    write_quantized(out / "quantized_file", run);
    write_checkpoints(out / "checkpoint", run);
    write_model_files(out / "model_file", run);
    write_pipelines(out / "pipeline_spec");
    write_run_records(out / "run_record");
  } catch (const std::exception& e) {
    std::cerr << "fuzz_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
