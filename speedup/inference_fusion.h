#pragma once
/// \file
/// fuse_for_inference: graph rewrites of a GraphModule for eval-mode inference, like torch.fx's
/// conv-bn fuser (torch.fx.experimental.optimization.fuse): each eval-mode BatchNorm2d that
/// normalises a conv's output is folded into that conv and its node leaves the graph, which
/// saves one pass over the activations per layer.

#include <string>
#include <utility>
#include <vector>

#include "speedup/graph_module.h"

namespace shrink::speedup {

/// For every (conv, bn) of conv_bn_pairs(model.graph()) — a Conv2d node whose only user is a
/// BatchNorm2d node, each module called once — the conv becomes fold_conv_bn(conv, bn)
/// (speedup/fold_batchnorm.h: W·γ/σ, (b − μ)·γ/σ + β), the BatchNorm node is removed (its users
/// read the conv's value) and the BatchNorm module leaves the module tree. Works on any
/// GraphModule: one loaded with io::load_model or built from a trace; BatchNorms held by typed
/// members of the traced model (resnet20's `bn1`) fold too, since the fused GraphModule holds its
/// modules in Containers (the traced model itself is not changed: the folded convs are new
/// modules, the others are shared). Returns the fused (conv, bn) names in graph order.
///
/// Inference only: the result computes in eval mode what `model` computed in eval mode (up to
/// float rounding), not what it would compute in training mode (no batch statistics any more),
/// and its gradients are not checked (training it trains a model without BatchNorm).
/// StateError when `model` or a BatchNorm to fold is in training mode, or when a module of a
/// pair carries a parametrization (a pruner or quantizer is attached); ValueError from
/// fold_conv_bn for a BatchNorm without running statistics. On an error `model` is unchanged.
std::vector<std::pair<std::string, std::string>> fuse_for_inference(GraphModule& model);

}  // namespace shrink::speedup
