// Votes per class, then the fixed point of "at least one channel", round_to and even groups.
#include "speedup/mask_resolution.h"

#include <algorithm>

#include "autograd/error.h"
#include "autograd/warning.h"

namespace shrink::speedup {
namespace {

using i64 = std::int64_t;

/// Per output channel of the mask's dim 0: whether any element is nonzero.
std::vector<bool> channels_alive(const Tensor& mask) {
  const i64 rows = mask.dim() == 0 ? 1 : mask.shape()[0];
  const i64 per = rows == 0 ? 0 : mask.numel() / rows;
  const float* m = mask.data<float>();
  std::vector<bool> alive(static_cast<std::size_t>(rows));
  for (i64 r = 0; r < rows; ++r)
    alive[r] = std::any_of(m + r * per, m + (r + 1) * per, [](float v) { return v != 0.0f; });
  return alive;
}

/// Whether the only consumer of every call of `layer` is a BatchNorm with a mask.
bool feeds_only_a_masked_batchnorm(const ChannelGroups& groups, const ChannelLayer& layer, const io::StateDict& masks,
                                   const std::vector<std::vector<int>>& users) {
  const Graph& g = groups.graph();
  for (int node : layer.nodes) {
    const auto& u = users[static_cast<std::size_t>(node)];
    if (u.size() != 1 || node == g.output) return false;
    const GraphNode& next = g.nodes[static_cast<std::size_t>(u[0])];
    const bool bn =
        next.kind == NodeKind::Module && (next.module_type == "BatchNorm2d" || next.module_type == "BatchNorm1d");
    if (!bn || !masks.contains(next.target + ".weight")) return false;
  }
  return true;
}

/// Marks the class of channel `c` of `classes` kept; returns whether it changed.
bool keep(std::vector<bool>& kept, const std::vector<int>& classes, i64 c) {
  const auto cls = static_cast<std::size_t>(classes[static_cast<std::size_t>(c)]);
  if (kept[cls]) return false;
  kept[cls] = true;
  return true;
}

/// Brings back removed channels of `classes` in [begin, end), lowest index first, until `want`
/// are kept there.
bool keep_at_least(std::vector<bool>& kept, const std::vector<int>& classes, i64 begin, i64 end, i64 want) {
  i64 have = 0;
  for (i64 c = begin; c < end; ++c) have += kept[static_cast<std::size_t>(classes[static_cast<std::size_t>(c)])];
  bool changed = false;
  for (i64 c = begin; c < end && have < want; ++c)
    if (keep(kept, classes, c)) ++have, changed = true;
  return changed;
}

}  // namespace

std::vector<std::int64_t> KeepPlan::kept_indices(const std::vector<int>& classes) const {
  std::vector<i64> out;
  for (std::size_t c = 0; c < classes.size(); ++c)
    if (kept[static_cast<std::size_t>(classes[c])]) out.push_back(static_cast<i64>(c));
  return out;
}

KeepPlan resolve_masks(const ChannelGroups& groups, const io::StateDict& masks, Resolve mode, std::int64_t round_to) {
  SHRINK_CHECK(round_to >= 1, "ModelSpeedup: round_to: expected >= 1, got ", round_to);
  const auto n = static_cast<std::size_t>(groups.class_count());
  std::vector<int> keep_votes(n, 0), prune_votes(n, 0);
  const auto users = groups.graph().users();
  for (const ChannelLayer& layer : groups.layers()) {
    const std::string key = layer.name + ".weight";
    std::vector<bool> alive;
    if (masks.contains(key)) {
      alive = channels_alive(masks.at(key));
    } else {
      const bool conv_or_linear = layer.type == "Conv2d" || layer.type == "Linear";
      if (!conv_or_linear || mode == Resolve::Intersection ||
          feeds_only_a_masked_batchnorm(groups, layer, masks, users))
        continue;
      alive.assign(layer.out_classes.size(), true);
    }
    SHRINK_CHECK_T(InternalError, alive.size() == layer.out_classes.size(), "ModelSpeedup: mask '", key, "': expected ",
                   layer.out_classes.size(), " output channels, got ", alive.size());
    for (std::size_t c = 0; c < alive.size(); ++c) ++(alive[c] ? keep_votes : prune_votes)[layer.out_classes[c]];
  }
  KeepPlan plan;
  plan.kept.resize(n);
  for (std::size_t cls = 0; cls < n; ++cls) {
    const bool voted = keep_votes[cls] + prune_votes[cls] > 0;
    const bool by_votes = mode == Resolve::Union ? keep_votes[cls] > 0 : prune_votes[cls] == 0;
    plan.kept[cls] = groups.pinned(static_cast<int>(cls)) || !voted || by_votes;
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (const ChannelLayer& layer : groups.layers()) {
      const auto& out = layer.out_classes;
      const i64 count = static_cast<i64>(out.size());
      if (plan.kept_indices(out).empty() && count > 0) {
        const std::string message = "ModelSpeedup: every output channel of '" + layer.name + "' (" + layer.type +
                                    ") is pruned; keeping channel 0 so that the layer is not empty";
        warn(message);
        plan.warnings.push_back(message);
        changed |= keep(plan.kept, out, 0);
      }
      if (!layer.produces()) continue;
      if (layer.groups == 1) {
        const i64 have = static_cast<i64>(plan.kept_indices(out).size());
        changed |=
            keep_at_least(plan.kept, out, 0, count, std::min(count, (have + round_to - 1) / round_to * round_to));
        continue;
      }
      // Grouped: every group keeps k channels, k the most any group keeps, raised until
      // groups · k is a multiple of round_to (or k is the whole group).
      const i64 per = count / layer.groups;
      i64 k = 0;
      for (i64 g = 0; g < layer.groups; ++g) {
        i64 n = 0;
        for (i64 c = g * per; c < (g + 1) * per; ++c) n += plan.kept[static_cast<std::size_t>(out[c])];
        k = std::max(k, n);
      }
      while (k < per && (layer.groups * k) % round_to != 0) ++k;
      for (i64 g = 0; g < layer.groups; ++g) changed |= keep_at_least(plan.kept, out, g * per, (g + 1) * per, k);
    }
  }
  return plan;
}

}  // namespace shrink::speedup
