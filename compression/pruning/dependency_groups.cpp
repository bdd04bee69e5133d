// Dependency-aware channel allocation: rank group channels by summed metric, prune them in that
// order while every coupled layer has budget left.
#include "compression/pruning/dependency_groups.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "autograd/error.h"

namespace shrink::compression {
namespace {

using i64 = std::int64_t;

float rank_value(float v) { return std::isnan(v) ? -std::numeric_limits<float>::infinity() : v; }

}  // namespace

void check_dependency_groups(const DependencyGroups& groups) {
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const DependencyGroup& group = groups[g];
    SHRINK_CHECK(group.pinned.size() == static_cast<std::size_t>(group.channels), "dependency groups: group ", g,
                 ": expected ", group.channels, " pinned flags (one per group channel), got ", group.pinned.size());
    for (const auto& m : group.members)
      for (i64 c : m.channel_map)
        SHRINK_CHECK(c >= 0 && c < group.channels, "dependency groups: group ", g, ", member '", m.layer,
                     "': expected group channels in [0, ", group.channels, "), got ", c);
  }
}

std::vector<std::optional<std::vector<std::int64_t>>> coupled_prune_channels(const DependencyGroups& groups,
                                                                             const std::vector<std::string>& layers,
                                                                             const std::vector<Tensor>& metrics,
                                                                             const std::vector<std::int64_t>& counts) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < layers.size(); ++i) index.emplace(layers[i], i);
  std::vector<std::optional<std::vector<i64>>> out(layers.size());
  for (const DependencyGroup& group : groups) {
    // Per group channel: the (layer, channel) pairs of pruned layers mapped to it.
    std::vector<std::vector<std::pair<std::size_t, i64>>> cover(static_cast<std::size_t>(group.channels));
    std::vector<std::size_t> members;
    for (const auto& m : group.members) {
      const auto it = index.find(m.layer);
      if (it == index.end()) continue;
      const Tensor& metric = metrics[it->second];
      SHRINK_CHECK(metric.numel() == static_cast<i64>(m.channel_map.size()), "dependency groups: member '", m.layer,
                   "' maps ", m.channel_map.size(), " channels, expected the layer's ", metric.numel());
      members.push_back(it->second);
      for (std::size_t c = 0; c < m.channel_map.size(); ++c)
        cover[static_cast<std::size_t>(m.channel_map[c])].emplace_back(it->second, static_cast<i64>(c));
    }
    const bool coupled = std::any_of(cover.begin(), cover.end(), [](const auto& pairs) {
      return std::any_of(pairs.begin(), pairs.end(), [&](const auto& p) { return p.first != pairs[0].first; });
    });
    if (!coupled) continue;
    std::vector<double> sum(cover.size(), 0.0);
    for (std::size_t g = 0; g < cover.size(); ++g)
      for (const auto& [layer, c] : cover[g]) {
        const Tensor m = metrics[layer].to(DType::Float32);
        sum[g] += rank_value(m.data<float>()[c]);
      }
    std::vector<std::size_t> order(cover.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return sum[a] < sum[b]; });
    std::map<std::size_t, i64> used;
    std::map<std::size_t, std::vector<i64>> pruned;
    for (std::size_t l : members) pruned[l];
    for (std::size_t g : order) {
      if (group.pinned[g] || cover[g].empty()) continue;
      std::map<std::size_t, i64> need;
      for (const auto& [layer, c] : cover[g]) ++need[layer];
      const bool fits = std::all_of(need.begin(), need.end(),
                                    [&](const auto& p) { return used[p.first] + p.second <= counts[p.first]; });
      if (!fits) continue;
      for (const auto& [layer, c] : cover[g]) {
        ++used[layer];
        pruned[layer].push_back(c);
      }
    }
    for (auto& [layer, channels] : pruned) {
      std::sort(channels.begin(), channels.end());
      out[layer] = std::move(channels);
    }
  }
  return out;
}

}  // namespace shrink::compression
