#pragma once
/// \file
/// RunRecord: what a pipeline run measured, stage by stage — the data behind the summary table
/// (summary_table.h) and report.html (html_report.h), saved as `run.json` in the output
/// directory after every stage and epoch so that a resumed run and `shrink inspect` see it too.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace shrink::pipeline {

/// One epoch of a training stage.
struct EpochRecord {
  std::int64_t epoch = 0;         ///< on the global timeline
  double train_loss = 0;          ///< mean over the epoch
  double train_accuracy = 0;      ///< in [0, 1]
  double test_accuracy = 0;       ///< in [0, 1], after the epoch
  double images_per_second = 0;   ///< training throughput
  double lr = 0;                  ///< learning rate used in the epoch
};

/// One layer's row in a stage's model: what the summary's per-layer sparsity chart shows.
struct LayerRecord {
  std::string name;               ///< dotted module name
  std::string type;               ///< "Conv2d", "Linear", ...
  std::int64_t params = 0;        ///< parameters of the layer as the model had it before any stage shrank it
  double sparsity = 0;            ///< fraction of those that are zero or removed (masked, quantized to 0, or cut by a speedup)
  std::int64_t macs = 0;          ///< multiply-accumulates per sample
};

/// Per-layer sensitivity curves (a `sensitivity` stage).
struct SensitivityRecord {
  double baseline = 0;                                   ///< accuracy of the unpruned model
  std::vector<double> ratios;                            ///< the pruning ratios tried
  std::map<std::string, std::vector<double>> accuracy;   ///< layer -> accuracy at each ratio
};

/// The measurements after one stage.
struct StageRecord {
  std::string name;               ///< the stage's name in the pipeline
  std::string type;               ///< stage_type_name()
  std::int64_t start_epoch = 0;
  std::int64_t end_epoch = 0;
  bool done = false;              ///< the stage finished (false while it runs)
  std::optional<double> accuracy; ///< test top-1 after the stage (none for export)
  std::int64_t params = 0;        ///< effective parameters (non-zero after masks) of the model
  std::int64_t macs = 0;          ///< effective MACs per sample
  std::int64_t file_bytes = 0;    ///< size of the file the stage wrote (0 if none)
  std::optional<double> latency_ms;  ///< batch-1 forward latency (median)
  double seconds = 0;             ///< wall time of the stage
  std::vector<EpochRecord> epochs;
  std::vector<LayerRecord> layers;
  std::optional<SensitivityRecord> sensitivity;
  std::vector<std::string> files; ///< files written (relative to the output directory)
  std::vector<std::string> notes; ///< e.g. the speedup's report of inexact folds
};

/// The whole run.
struct RunRecord {
  std::string pipeline;           ///< the pipeline file's name
  std::string model;              ///< zoo name or model file
  std::optional<double> baseline_accuracy;  ///< of the model as loaded, before any stage
  std::int64_t baseline_params = 0;
  std::int64_t baseline_macs = 0;
  std::vector<StageRecord> stages;

  /// Every field, with null for an absent optional and for a train_loss that is not finite.
  nlohmann::json to_json() const;
  /// Validates every field: ValueError "<source>: <JSON path>: expected <x>, got <y>" for a wrong
  /// type or range (accuracies and sparsities in [0, 1], counts and times >= 0, end_epoch >=
  /// start_epoch, a known stage type, one sensitivity accuracy per ratio) and for an unknown key.
  /// "pipeline", "model", "stages" and each stage's "name" and "type" (and each epoch's "epoch"
  /// and layer's "name") are required; every other key defaults as in the structs.
  static RunRecord from_json(const nlohmann::json& json, const std::string& source = "run record");
  /// Writes `path` atomically (temp name, then rename): to_json() indented.
  void save(const std::string& path) const;
  /// Reads a file written by save(): IOError when it cannot be read (or exceeds 64 MiB),
  /// ValueError for malformed JSON (line and column) and as from_json() with `path` as source.
  static RunRecord load(const std::string& path);
};

}  // namespace shrink::pipeline
