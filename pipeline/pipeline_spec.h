#pragma once
/// \file
/// PipelineSpec: a compression pipeline as `shrink compress <pipeline.json>` reads it — the model,
/// the data, the training recipe and an ordered list of stages — parsed and validated completely
/// before any work starts.
///
/// \code{.json}
///   {"model": {"zoo": "naive"},
///    "data": {"train_limit": 0, "batch_size": 128},
///    "training": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4,
///                 "lr_schedule": "cosine", "seed": 0},
///    "stages": [
///      {"type": "train", "name": "dense", "epochs": 2},
///      {"type": "prune", "pruner": "l1norm", "config_list": [{"sparsity": 0.5, "op_types": ["Conv2d"]}],
///       "epochs": 1},
///      {"type": "speedup"},
///      {"type": "quantize", "quantizer": "qat", "config_list": [...], "epochs": 1},
///      {"type": "export"}]}
/// \endcode
///
/// Stages run in order on one global epoch timeline, as PaddleSlim's compressor strategies do:
/// every training stage (train, prune, quantize with epochs) owns the epochs
/// [start_epoch, end_epoch) that follow the previous one (a prune stage owns pruning_epochs +
/// epochs: first the epochs a data-driven pruner trains before compress, then the fine-tuning);
/// `distill` is an overlay that changes the loss of whatever trains during its
/// [start_epoch, end_epoch) (default: every later epoch; both must lie between its place in the
/// list and the end of the timeline, and cover at least one epoch); speedup, export and
/// sensitivity take no epochs and run at their place in the list (start_epoch == end_epoch).
///
/// The JSON keys of a stage are the StageSpec field names; besides "type" and "name", a stage takes
/// those of its type, and a key of another type is an error naming the types that take it:
/// - train: epochs (required, > 0), training (overrides of the pipeline's recipe);
/// - prune: pruner, config_list (both required), pruner_options, schedule, schedule_options,
///   pruning_epochs, dependency_aware, epochs, training;
/// - quantize: quantizer, config_list (both required), quantizer_options, calibration_batches
///   (required for ptq, > 0, and only there; ptq takes 0 epochs), epochs, training;
/// - distill: distill_config (required), teacher or teacher_stage (exactly one; the stage must come
///   earlier), start_epoch, end_epoch;
/// - speedup: speedup_mode, round_to (1..4096);
/// - export: exports (each of model, weights, masks, calibration, int8 at most once);
/// - sensitivity: ratios (in (0, 1), ascending), sensitivity_images. Relative paths (model.file, model.weights, teacher files, data.root) are resolved
/// against the pipeline file's directory by from_file(), against the working directory by parse().
///
/// Every error is a ValueError naming the file and the JSON path of the offending key, e.g.
/// `pipeline.json: stages[1].training.lr: expected a number > 0, got -1`; unknown keys list the
/// allowed ones. Errors inside a config_list or distill_config are those of
/// compression::ConfigList / DistillConfig below the stage's path:
/// `pipeline.json: stages[1].config_list[0]['sparsity']: expected a number in [0, 1), got 1.5`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace shrink::pipeline {

/// Where the model comes from: a zoo name (with optional initial weights) or a Shrink model file
/// (speedup/model_file.h). Exactly one of `zoo` and `file`.
struct ModelSpec {
  std::string zoo;      ///< a models::names() entry, or empty
  std::string file;     ///< a model file path, or empty
  std::string weights;  ///< a state_dict HDF5 to load into the zoo model, or empty
};

/// The dataset (Fashion-MNIST in idx format).
struct DataSpec {
  std::string root = "/usr/share/datasets/fashion-mnist";  ///< holds the four idx(.gz) files
  std::int64_t train_limit = 0;       ///< use the first N training images (0 = all)
  std::int64_t test_limit = 0;        ///< use the first N test images (0 = all)
  std::int64_t batch_size = 128;      ///< training batch size (> 0)
  std::int64_t test_batch_size = 500; ///< evaluation batch size (> 0)
  bool augment = false;               ///< random crop (padding 2) + horizontal flip for training
};

/// A training recipe; a stage may override any key of the pipeline's.
struct TrainingSpec {
  std::string optimizer = "sgd";     ///< "sgd", "adam" or "rmsprop"
  double lr = 0.05;                  ///< > 0
  double momentum = 0.9;             ///< in [0, 1); sgd and rmsprop
  double weight_decay = 5e-4;        ///< >= 0
  std::string lr_schedule = "cosine";///< "cosine" (to 0 over the stage's epochs) or "constant"
  std::uint64_t seed = 0;            ///< shuffling (epoch e of the timeline uses seed + e) and init
};

enum class StageType { Train, Prune, Quantize, Distill, Speedup, Export, Sensitivity };

/// "train", "prune", "quantize", "distill", "speedup", "export", "sensitivity".
const char* stage_type_name(StageType type);

/// One stage. Fields not used by its type keep their defaults (and setting them in the file is an
/// error naming the key).
struct StageSpec {
  StageType type = StageType::Train;
  /// Unique in the pipeline; [A-Za-z0-9_.-], at most 64, not starting with '.' (it names output
  /// files). Default: "<type>" for the first stage of its type, "<type>_<k>" for the k-th (k >= 2).
  std::string name;
  std::int64_t epochs = 0;      ///< training epochs of train (> 0) / prune (fine-tune) / quantize (QAT; 0 for ptq)
  std::int64_t start_epoch = 0; ///< on the global timeline (computed; distill: set in the file or its place)
  std::int64_t end_epoch = 0;   ///< exclusive (distill: set in the file or the end of the timeline)
  TrainingSpec training;        ///< the pipeline's recipe with the stage's "training" keys applied

  // prune
  std::string pruner;                 ///< compression::pruner_names()
  nlohmann::json pruner_options;       ///< the pruner's option object (null = defaults)
  nlohmann::json config_list;          ///< validated with the pruner's / quantizer's rules
  std::string schedule;                ///< "" or compression::scheduled_pruner_names()
  nlohmann::json schedule_options;     ///< the schedule's option object
  std::int64_t pruning_epochs = 0;     ///< epochs a data-driven pruner trains before compress (slim, taylorfo, ...), counted in epochs
  bool dependency_aware = true;        ///< channel pruners: coupled layers get one mask (speedup::dependency_groups)

  // quantize
  std::string quantizer;               ///< "qat", "ptq", "naive", "dorefa", "bnn", "lsq"
  nlohmann::json quantizer_options;    ///< per quantizer (e.g. {"fold_bn": true} for qat)
  std::int64_t calibration_batches = 0;///< ptq: training batches observed (> 0 for ptq)

  // distill
  ModelSpec teacher;                   ///< the teacher model (zoo + weights, or file); or:
  std::string teacher_stage;           ///< the model as it was after that earlier stage
  nlohmann::json distill_config;       ///< compression::DistillConfig JSON (a list of losses)

  // speedup
  std::string speedup_mode = "union";  ///< "union" or "intersection" of coupled masks
  std::int64_t round_to = 1;           ///< channel multiples kept

  // export: which files to write into the output directory (default: all that apply)
  std::vector<std::string> exports;    ///< of "model", "weights", "masks", "calibration", "int8"

  // sensitivity
  std::vector<double> ratios;          ///< pruning ratios tried per layer (default 0.1 .. 0.9)
  std::int64_t sensitivity_images = 0; ///< test images used per evaluation (0 = data.test_limit or all)
};

/// The whole pipeline file.
struct PipelineSpec {
  std::string source;              ///< the file name used in messages ("pipeline.json")
  ModelSpec model;
  DataSpec data;
  TrainingSpec training;
  std::vector<StageSpec> stages;   ///< in order, at least one
  std::int64_t total_epochs = 0;   ///< end of the timeline

  /// Validates `json` completely (see the file comment); `source` prefixes every message.
  static PipelineSpec parse(const nlohmann::json& json, const std::string& source = "pipeline");
  /// parse() of JSON text: ValueError with line and column for a syntax error, and for nesting
  /// deeper than 64 levels (checked before parsing).
  static PipelineSpec parse_text(const std::string& text, const std::string& source = "pipeline");
  /// Reads and validates a JSON file (at most 4 MiB); `path` as given is the source of messages,
  /// and relative paths inside it (model.file, model.weights, teacher files, data.root) are
  /// resolved against its directory. IOError when it cannot be read, ValueError as parse_text().
  static PipelineSpec from_file(const std::string& path);
  /// The JSON form with every default filled in (paths as resolved; total_epochs and the computed
  /// start/end epochs of training stages left out); parse(to_json()) gives the same spec.
  nlohmann::json to_json() const;
};

}  // namespace shrink::pipeline
