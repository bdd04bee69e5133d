#pragma once
// Hand-built RunRecords for the report tests (summary table, SVG charts, HTML report): a
// four-stage run with epochs, layer rows, a sensitivity analysis, files and notes, and an
// empty one. The layer name `a<b>&"c"` checks that user text is escaped everywhere. Also the
// text searches the tests share.
#include <string>

#include "pipeline/run_record.h"

namespace shrink::pipeline::testing {

inline const char* const kHostileLayer = "a<b>&\"c\"";

/// How many times `what` occurs in `text` (not overlapping).
inline std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

inline bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

inline EpochRecord epoch(std::int64_t e, double test_accuracy) {
  EpochRecord r;
  r.epoch = e;
  r.train_loss = 1.0 / static_cast<double>(e + 1);
  r.train_accuracy = test_accuracy + 0.01;
  r.test_accuracy = test_accuracy;
  r.images_per_second = 1000;
  r.lr = 0.1;
  return r;
}

inline LayerRecord layer(const std::string& name, const std::string& type, std::int64_t params, double sparsity,
                         std::int64_t macs) {
  return {name, type, params, sparsity, macs};
}

/// Baseline 10.00% (untrained), train 2 epochs, sensitivity, prune with 1 fine-tune epoch, export.
inline RunRecord sample_run() {
  RunRecord r;
  r.pipeline = "demo.json";
  r.model = "naive";
  r.baseline_accuracy = 0.1;
  r.baseline_params = 101770;
  r.baseline_macs = 101632;

  StageRecord train;
  train.name = "dense";
  train.type = "train";
  train.start_epoch = 0;
  train.end_epoch = 2;
  train.done = true;
  train.accuracy = 0.8812;
  train.params = 101770;
  train.macs = 101632;
  train.latency_ms = 0.0512;
  train.seconds = 12.5;
  train.epochs = {epoch(0, 0.8401), epoch(1, 0.8812)};
  train.layers = {layer("fc1", "Linear", 100480, 0.0, 100352), layer(kHostileLayer, "Linear", 1290, 0.0, 1280)};

  StageRecord sens;
  sens.name = "sens";
  sens.type = "sensitivity";
  sens.start_epoch = sens.end_epoch = 2;
  sens.done = true;
  sens.accuracy = 0.8812;
  sens.params = 101770;
  sens.macs = 101632;
  SensitivityRecord sr;
  sr.baseline = 0.8812;
  sr.ratios = {0.1, 0.3, 0.5};
  sr.accuracy["fc1"] = {0.88, 0.86, 0.80};
  sr.accuracy[kHostileLayer] = {0.87, 0.75, 0.52};
  sens.sensitivity = sr;
  sens.files = {"sens.sensitivity.json"};

  StageRecord prune;
  prune.name = "prune";
  prune.type = "prune";
  prune.start_epoch = 2;
  prune.end_epoch = 3;
  prune.done = true;
  prune.accuracy = 0.8790;
  prune.params = 50885;
  prune.macs = 50816;
  prune.epochs = {epoch(2, 0.8790)};
  prune.layers = {layer("fc1", "Linear", 100480, 0.5, 100352), layer(kHostileLayer, "Linear", 1290, 0.25, 1280)};
  prune.notes = {"fine-tuned with masks <fixed>"};

  StageRecord exp;
  exp.name = "export";
  exp.type = "export";
  exp.start_epoch = exp.end_epoch = 3;
  exp.done = true;
  exp.params = 50885;
  exp.macs = 50816;
  exp.file_bytes = 207974;
  exp.latency_ms = 0.0321;
  exp.files = {"export.model.h5", "export.masks.h5"};

  r.stages = {train, sens, prune, exp};
  return r;
}

/// A run that stopped before its first stage finished: no accuracy, no counts, no rows.
inline RunRecord empty_run() {
  RunRecord r;
  r.pipeline = "empty.json";
  r.model = "mlp";
  StageRecord s;
  s.name = "dense";
  s.type = "train";
  s.start_epoch = 0;
  s.end_epoch = 5;
  r.stages = {s};
  return r;
}

}  // namespace shrink::pipeline::testing
