#pragma once
/// \file
/// Whether a traced graph computes each sample of a batch from that sample alone, so that it may
/// run on slices of the batch (GraphModule's inference in micro-batches) with the same results.

#include <vector>

#include "nn/module.h"
#include "speedup/graph.h"

namespace shrink::speedup {

/// True when every node is known to keep dim 0 as the batch and to treat samples independently:
/// eval-mode Conv2d, Linear, BatchNorm, activations, pooling, Dropout, Identity, Flatten from dim
/// 1, and the elementwise, activation, pooling and non-batch-dim shape ops; `modules` holds each
/// Module node's module (GraphModule::node_modules). Anything else (a module in training mode,
/// an unknown module type, a parametrization other than a pruning mask, a reshape, an op over
/// dim 0) makes it false.
bool runs_per_sample(const Graph& graph, const std::vector<nn::ModulePtr>& modules);

}  // namespace shrink::speedup
