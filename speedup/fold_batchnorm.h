#pragma once
/// \file
/// fold_batchnorm: folds each BatchNorm2d into the Conv2d before it, for inference — what an
/// int8 runtime does before quantizing, and one memory pass less per layer at inference.

#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"
#include "nn/module.h"

namespace shrink::speedup {

/// For every (conv, bn) of conv_bn_pairs(model, example): with sf = γ/√(running_var + eps) per
/// channel, the conv's weight becomes W·sf and its bias β + (b − running_mean)·sf (a conv
/// without bias gets one), and the BatchNorm is replaced by an Identity (replace_module: the
/// model's own forward keeps working). The folded model computes in eval mode what the model
/// computed in eval mode (up to float rounding); training it further trains without BatchNorm.
/// A pair whose BatchNorm the model holds in a member typed BatchNorm2d (e.g. resnet20's
/// `bn1`) cannot take an Identity (Module::replace_module refuses) and is left unfolded; the
/// BatchNorms of Sequentials and ModuleLists fold. StateError when a conv or BatchNorm of a pair
/// carries a parametrization (a pruner or quantizer is attached: unwrap it first). Returns the
/// folded pairs.
std::vector<std::pair<std::string, std::string>> fold_batchnorm(nn::Module& model, const Tensor& example);

}  // namespace shrink::speedup
