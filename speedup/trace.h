#pragma once
/// \file
/// speedup::trace: one forward of a model with recording on, turned into a Graph of leaf-module
/// calls and functional ops.

#include "autograd/tensor.h"
#include "nn/module.h"
#include "speedup/graph.h"

namespace shrink::speedup {

/// Runs `model` once on `example` (a batch, e.g. zeros of [1, 1, 28, 28]) and returns its graph.
///
/// The model runs in eval mode (batch-norm statistics are read, never updated; every module's
/// training flag is restored afterwards, also when tracing fails) and with grad mode on, from a
/// copy of `example` that requires grad, so every op that depends on the input is recorded.
/// Leaf modules (modules without children) become Module nodes: what runs inside them —
/// parametrizations such as pruning masks included — is not looked into. Every other recorded op
/// becomes a Function node with the op name and attributes of its autograd Node. A leaf that
/// returns its input unchanged in eval (Identity, Dropout) still gets its node.
///
/// Errors (ValueError, naming the op and the module it ran in): a functional op with an input
/// that does not depend on the model input (a constant tensor: make it a buffer of a leaf
/// module), a parameter read outside a leaf module, a leaf module that reads a computed tensor
/// other than its input, a model whose output does not depend on its input.
Graph trace(nn::Module& model, const Tensor& example);

}  // namespace shrink::speedup
