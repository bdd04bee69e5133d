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

/// A replay rule: runs a Function node on its inputs.
using ReplayRule = Tensor (*)(const GraphNode& node, const TensorList& inputs);

/// The rule run_function applies to `node` given `inputs` inputs, or null when run_function
/// would throw (no rule for the op, wrong input count). For callers that run a graph many times:
/// looked up once, it skips the per-call name lookup and checks.
ReplayRule replay_rule(const GraphNode& node, std::size_t inputs);

/// Whether run_function can replay `op`.
bool is_replayable(const std::string& op);

/// The ops run_function replays, sorted.
std::vector<std::string> replayable_ops();

}  // namespace shrink::speedup
