#pragma once
/// \file
/// The Conv2d → BatchNorm2d pairs of a model, for QAT's Conv-BN folding
/// (compression::QATOptions::fold_bn), read off the traced graph.

#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"
#include "nn/module.h"
#include "speedup/graph.h"

namespace shrink::speedup {

/// (conv, bn) dotted names, in graph order, where a Conv2d's output goes only to a BatchNorm2d
/// (its one user) and each is called once. A conv whose output is also used elsewhere, or a
/// module called twice, is left out: folding would change the other uses.
std::vector<std::pair<std::string, std::string>> conv_bn_pairs(const Graph& graph);

/// conv_bn_pairs(trace(model, example)).
std::vector<std::pair<std::string, std::string>> conv_bn_pairs(nn::Module& model, const Tensor& example);

}  // namespace shrink::speedup
