#pragma once
/// \file
/// Model files (`format = "shrink.model"`, docs/architecture.md "model file"): a model's graph
/// and weights in one HDF5 file, loadable and runnable by a program that does not have the
/// model's source.
///
/// The file is a state_dict file — one dataset per parameter and buffer of the modules the
/// graph calls, named by its dotted key, exactly as io::save_state_dict writes them, so
/// io::load_state_dict and the h5py one-liner read its weights — plus a root attribute `graph`:
/// the JSON of the traced graph (speedup::graph_to_json) with a list `modules` giving each
/// called module's name, layer type and constructor options (speedup/module_factory.h):
///
///     {"nodes": [...], "output": 12,
///      "modules": [{"name": "features.0", "type": "Conv2d", "options": {...}}, ...]}
///
/// These functions are declared in namespace shrink::io, beside the other files, but live in
/// the speedup layer: they need the graph IR and GraphModule, which sit above io/.

#include <memory>
#include <string>

#include "autograd/tensor.h"
#include "nn/module.h"
#include "speedup/graph.h"
#include "speedup/graph_module.h"

namespace shrink::io {

/// Writes `model`, a speedup::GraphModule (a traced model, a model loaded with load_model),
/// with its own graph. ValueError for any other module, with a hint to pass an example input.
void save_model(const nn::Module& model, const std::string& path);

/// Traces `model` on `example` (a batch such as zeros of [1, 1, 28, 28]; speedup::trace) and
/// writes it.
void save_model(nn::Module& model, const Tensor& example, const std::string& path);

/// Writes `model` with `graph` (a trace of it). Atomic (io/atomic_write.h). ValueError naming
/// the module when a node calls a module `model` does not have or one that is not a leaf, and
/// from speedup::module_to_json when a called module is not a layer of nn/ (a user's own leaf),
/// has parametrizations (masks: unwrap the compressor first) or extra tensors.
void save_model(const nn::Module& model, const speedup::Graph& graph, const std::string& path);

/// Reads a model file and rebuilds it as a runnable GraphModule in eval mode (call train() to
/// fine-tune it), with parameters and buffers under the original dotted names. The file is
/// treated as hostile: format and version, the graph JSON (nesting, every field, sizes), every
/// module's options, every function's op (one Shrink can replay), and every dataset against the
/// rebuilt modules (names, shapes, dtypes, before reading any data) are checked; any problem is
/// an IOError "load_model: '<path>': ..." naming the attribute, node, module, field or key.
std::shared_ptr<speedup::GraphModule> load_model(const std::string& path);

}  // namespace shrink::io
