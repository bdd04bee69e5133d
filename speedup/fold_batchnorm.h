#pragma once
/// \file
/// fold_batchnorm: folds each BatchNorm2d into the Conv2d before it, for inference — what an
/// int8 runtime does before quantizing, and one memory pass less per layer at inference.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"
#include "nn/module.h"

namespace shrink::nn {
class Conv2d;
class BatchNorm2d;
}  // namespace shrink::nn

namespace shrink::speedup {

/// A new Conv2d (with a bias, same options otherwise, in `conv`'s mode) that computes in eval
/// mode what bn(conv(x)) computes: with sf = γ/√(running_var + eps) per output channel, weight
/// W·sf and bias β + (b − running_mean)·sf. ValueError when `bn` has no running statistics or
/// does not have one feature per output channel of `conv`. `conv` and `bn` are left unchanged.
std::shared_ptr<nn::Conv2d> fold_conv_bn(const nn::Conv2d& conv, const nn::BatchNorm2d& bn);

/// For every (conv, bn) of conv_bn_pairs(model, example): the conv becomes fold_conv_bn(conv,
/// bn) and the BatchNorm is replaced by an Identity (replace_module: the
/// model's own forward keeps working). The folded model computes in eval mode what the model
/// computed in eval mode (up to float rounding); training it further trains without BatchNorm.
/// A pair whose BatchNorm the model holds in a member typed BatchNorm2d (e.g. resnet20's
/// `bn1`) cannot take an Identity (Module::replace_module refuses) and is left unfolded; the
/// BatchNorms of Sequentials and ModuleLists fold. StateError when a conv or BatchNorm of a pair
/// carries a parametrization (a pruner or quantizer is attached: unwrap it first). Returns the
/// folded pairs.
std::vector<std::pair<std::string, std::string>> fold_batchnorm(nn::Module& model, const Tensor& example);

}  // namespace shrink::speedup
