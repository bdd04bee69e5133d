#pragma once
/// \file
/// Dependency groups: layers whose output channels are coupled and must be pruned together (a
/// residual add joins its branches' channels, a BatchNorm follows its conv, `cat` places its
/// inputs' channels side by side). Plain data, so that the pruners (compression/) accept groups
/// computed from a traced graph by speedup::dependency_groups() (speedup/channel_groups.h)
/// without depending on speedup/.

#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace shrink::compression
