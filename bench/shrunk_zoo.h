#pragma once
/// \file
/// The dense and shrunk zoo models the speedup benchmarks time: L1NormPruner at 0.5 on every
/// Conv2d, dependency-aware (Pruner::set_dependency_groups with speedup::dependency_groups),
/// then speedup::ModelSpeedup removes the pruned channels.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "autograd/generator.h"
#include "autograd/ops.h"
#include "compression/config_list.h"
#include "compression/pruning/weight_pruners.h"
#include "nn/models/registry.h"
#include "speedup/channel_groups.h"
#include "speedup/graph_module.h"
#include "speedup/inference_fusion.h"
#include "speedup/model_speedup.h"
#include "speedup/trace.h"

namespace shrink::bench {

struct ShrunkPair {
  nn::ModulePtr dense, shrunk;
  speedup::SpeedupReport report;
};

/// Zoo model `name` (seed 0) and its shrunk copy; exits with status 1 when the shrunk model does
/// not compute what the masked one did.
inline ShrunkPair shrunk_pair(const std::string& name, const Tensor& example) {
  manual_seed(0);
  ShrunkPair p;
  p.dense = models::create(name);
  p.shrunk = p.dense->clone();
  compression::L1NormPruner pruner(p.shrunk,
                                   compression::ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])"));
  pruner.set_dependency_groups(speedup::dependency_groups(speedup::trace(*p.shrunk, example), *p.shrunk));
  pruner.compress();
  const io::StateDict masks = pruner.get_masks();
  pruner.unwrap();
  p.report = speedup::ModelSpeedup(*p.shrunk, example, masks, {.latency_repeats = 0}).speedup_model();
  if (!p.report.verified) {
    std::fprintf(stderr, "%s: the shrunk model does not compute what the masked one did\n%s", name.c_str(),
                 p.report.to_string().c_str());
    std::exit(1);
  }
  return p;
}

/// `model` traced on `example` as a GraphModule in eval mode, with its conv → BatchNorm pairs
/// folded (fuse_for_inference); `fused` gets the number of pairs.
inline std::shared_ptr<speedup::GraphModule> fused_graph_module(nn::Module& model, const Tensor& example,
                                                                std::size_t& fused) {
  model.eval();
  auto graph_module = std::make_shared<speedup::GraphModule>(model, speedup::trace(model, example));
  graph_module->eval();
  fused = speedup::fuse_for_inference(*graph_module).size();
  return graph_module;
}

}  // namespace shrink::bench
