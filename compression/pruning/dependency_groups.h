#pragma once
/// \file
/// Dependency groups: layers whose output channels are coupled and must be pruned together (a
/// residual add joins its branches' channels, a BatchNorm follows its conv, `cat` places its
/// inputs' channels side by side). Plain data, so that the pruners (compression/) accept groups
/// computed from a traced graph by speedup::dependency_groups() (speedup/channel_groups.h)
/// without depending on speedup/.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace shrink::compression {

/// One set of coupled layers. The group has `channels` coupled channels ("group channels"); each
/// member maps each of its output channels to one group channel. Two members' channels that map
/// to the same group channel are either both kept or both removed by speedup.
struct DependencyGroup {
  struct Member {
    /// Dotted module name ("layer1.0.conv2").
    std::string layer;
    /// The module type ("Conv2d", "Linear", "BatchNorm2d").
    std::string type;
    /// Output channel c of the layer -> group channel, for every c of the layer.
    std::vector<std::int64_t> channel_map;
  };
  std::vector<Member> members;
  /// The number of group channels.
  std::int64_t channels = 0;
  /// Per group channel: true when speedup can never remove it (it reaches the model output or
  /// input, or feeds a grouped conv's input).
  std::vector<bool> pinned;
};

using DependencyGroups = std::vector<DependencyGroup>;

/// Checks that every member's channel_map points into [0, channels) and that `pinned` has one
/// entry per group channel; ValueError naming the group and member otherwise.
void check_dependency_groups(const DependencyGroups& groups);

/// Dependency-aware allocation for the channel pruners. `layers` are the pruned layers' names,
/// `metrics` their importance per output channel (higher = kept) and `counts` how many channels
/// each should prune. Within a group, the group channels are ranked by the sum of the metrics of
/// the pruned layers' channels mapped to them (ties: lower index first; pinned ones never go),
/// and a group channel is pruned, in that order, when every pruned layer covering it still has
/// that many channels of its count left: coupled layers prune the same channels, each at most
/// its count (so a coupled set prunes as much as its least pruned layer). Returns, per layer,
/// its pruned channels (ascending) when it shares a group channel with another pruned layer,
/// and nothing otherwise (the pruner's own per-layer choice stands).
std::vector<std::optional<std::vector<std::int64_t>>> coupled_prune_channels(const DependencyGroups& groups,
                                                                             const std::vector<std::string>& layers,
                                                                             const std::vector<Tensor>& metrics,
                                                                             const std::vector<std::int64_t>& counts);

}  // namespace shrink::compression
