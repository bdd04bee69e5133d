#include "pipeline/pipeline_spec.h"

namespace shrink::pipeline {

const char* stage_type_name(StageType type) {
  switch (type) {
    case StageType::Train: return "train";
    case StageType::Prune: return "prune";
    case StageType::Quantize: return "quantize";
    case StageType::Distill: return "distill";
    case StageType::Speedup: return "speedup";
    case StageType::Export: return "export";
    case StageType::Sensitivity: return "sensitivity";
  }
  return "unknown";
}

}  // namespace shrink::pipeline
