#pragma once
/// \file
/// Replacing Conv2d, Linear and BatchNorm layers by smaller ones that keep the planned channels,
/// with the constant of removed input channels folded into the consumer's bias.
///
/// Fold: a removed input channel c of a Conv2d (groups 1) or Linear still carries a value in the
/// masked model; when it is constant over the batch and space (a bias or BatchNorm shift through
/// an activation), const_c · Σ_k W[:, c, k] is added to the consumer's bias (a bias is created
/// when there is none). Exact for Linear and unpadded convs; for a padded conv the border outputs
/// see fewer taps, so the layer is reported (InexactFold), as is a removed channel that is not
/// constant.

#include <map>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "nn/module.h"
#include "speedup/channel_groups.h"
#include "speedup/mask_resolution.h"
#include "speedup/speedup_report.h"

namespace shrink::speedup {

/// The inputs every call of each Conv2d / Linear received in one forward of the masked model
/// (by layer name); the fold reads its constants there.
using LayerInputs = std::map<std::string, std::vector<Tensor>>;

/// Replaces each layer of `groups` in `model` (replace_module) by one with the kept channels of
/// `plan`, copying weights (as they are: apply masks first), bias and running statistics. With
/// `fold`, folds the constants of removed input channels seen in `inputs` and appends the
/// layers where that is not exact to `inexact`. Layers whose channels all stay are left as they
/// are. Returns one row per layer.
std::vector<LayerShrink> shrink_layers(nn::Module& model, const ChannelGroups& groups, const KeepPlan& plan,
                                       const LayerInputs& inputs, bool fold, std::vector<InexactFold>& inexact);

}  // namespace shrink::speedup
