#pragma once
/// \file
/// From masks to the channels speedup keeps: every Conv2d, Linear and BatchNorm layer with a mask
/// votes for each of its output channels (a channel is pruned when its whole filter / row /
/// BatchNorm weight is zero in the mask), and each coupled class of channels (channel_groups.h)
/// is decided by its votes.
///
/// Votes: a layer with a mask votes keep or prune per output channel. A Conv2d or Linear without
/// a mask votes keep under Resolve::Union (its channels are alive: removing them would change the
/// model), except when its only consumer is a BatchNorm with a mask, which then speaks for it
/// (SlimPruner masks the BatchNorm, not the conv). Under Resolve::Intersection only masked layers
/// vote. A class is kept when it is pinned, when nobody votes on it, or
///   - Union (default, always safe): when any vote is keep;
///   - Intersection: when every vote is keep (more channels go; the removed channels of layers
///     that kept them change the model, which the verification reports).
/// Then, until nothing changes (each step only adds kept channels): every layer keeps at least
/// one output channel (channel 0, with a warning), a Conv2d/Linear keeps a multiple of
/// `round_to` channels (or all; the lowest-index removed channels come back first), and a
/// grouped conv keeps as many output channels in every group, k per group with groups · k a
/// multiple of `round_to` where k can reach that (the lowest-index ones come back).

#include <cstdint>
#include <string>
#include <vector>

#include "io/state_dict.h"
#include "speedup/channel_groups.h"

namespace shrink::speedup {

enum class Resolve { Union, Intersection };

/// The decision: which classes stay.
struct KeepPlan {
  std::vector<bool> kept;             ///< per class of the ChannelGroups
  std::vector<std::string> warnings;  ///< also sent to shrink::warn()

  /// The indices (ascending) of `classes` whose class is kept: a layer's kept channels.
  std::vector<std::int64_t> kept_indices(const std::vector<int>& classes) const;
};

/// Decides the kept classes. `masks` are float 0/1 masks by tensor name ("features.0.weight"),
/// already checked against the model (ModelSpeedup does); masks of other tensors are ignored.
KeepPlan resolve_masks(const ChannelGroups& groups, const io::StateDict& masks, Resolve mode, std::int64_t round_to);

}  // namespace shrink::speedup
