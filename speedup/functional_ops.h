#pragma once
/// \file
/// Replays a graph's functional ops: the op named by a Function node, run again on new inputs
/// with the attributes its autograd Node recorded.

#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "speedup/graph.h"

namespace shrink::speedup {

/// Runs Function node `node` on `inputs` (one per node input). Shape-carrying attributes are
/// relative to the batch: a `reshape` whose traced output kept the batch size gets the new
/// batch size. NotImplementedError for an op without a replay rule (listing the supported ops);
/// ValueError for a missing or mistyped attribute.
Tensor run_function(const GraphNode& node, const TensorList& inputs);

/// Whether run_function can replay `op`.
bool is_replayable(const std::string& op);

/// The ops run_function replays, sorted.
std::vector<std::string> replayable_ops();

}  // namespace shrink::speedup
