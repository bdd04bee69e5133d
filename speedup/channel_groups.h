#pragma once
/// \file
/// Channel coupling of a traced graph: which channels of which values must be kept or removed
/// together when a model is shrunk.
///
/// A channel *element* is (value i, channel c), where the channel dim is dim 1 of value i (its
/// [N, C, H, W] or [N, F] shape). A union-find over all elements joins the elements that one
/// rule per op couples; the resulting equivalence classes are what speedup keeps or removes as
/// a whole. Rules (docs/architecture.md, "Speedup"):
///
/// | op (module type or functional op)                      | rule                                  |
/// |--------------------------------------------------------|---------------------------------------|
/// | BatchNorm1d/2d, ReLU, ReLU6, LeakyReLU, GELU, Sigmoid,  | pass through: (out, c) ~ (in, c)      |
/// | Tanh, Dropout, Identity, MaxPool2d, AvgPool2d,          |                                       |
/// | AdaptiveAvgPool2d; relu, relu6, leaky_relu, gelu,       |                                       |
/// | sigmoid, tanh, identity, max/avg/adaptive_avg_pool2d,   |                                       |
/// | neg, exp, clamp, *_scalar, pow_scalar; mean/sum over    |                                       |
/// | spatial dims only                                       |                                       |
/// | add, sub, mul, div                                      | join (out,c) ~ (a,c) ~ (b,c); an input |
/// |                                                        | with 1 channel broadcasts: pinned     |
/// | cat along dim 1                                        | (out, offset_k + c) ~ (in_k, c)       |
/// | cat along another dim                                  | join every input with the output      |
/// | flatten / Flatten (start_dim 1) of [N, C, H, W],        | (out, c·H·W + k) ~ (in, c)            |
/// | reshape to [N, C·H·W]                                  |                                       |
/// | Conv2d, groups == in == out > 1 (depthwise)            | pass through: (out, c) ~ (in, c)      |
/// | Conv2d, groups == 1; Linear on [N, F]                  | new channels (input consumed)         |
/// | Conv2d, other groups (grouped)                         | new channels, evenly per group; the   |
/// |                                                        | input channels are pinned             |
///
/// Every other op is a ValueError naming the op and its module: never a silent wrong model.
/// A module called several times couples its calls' inputs and outputs channel by channel.
/// The graph input's and output's classes are pinned (never removed).

#include <cstdint>
#include <string>
#include <vector>

#include "compression/pruning/dependency_groups.h"
#include "nn/module.h"
#include "speedup/graph.h"

namespace shrink::speedup {

/// A layer with weights that speedup shrinks: Conv2d, Linear, BatchNorm1d/2d.
struct ChannelLayer {
  std::string name;  ///< dotted module name
  std::string type;  ///< module type
  /// The graph nodes that call it (several for a shared module).
  std::vector<int> nodes;
  /// Conv2d's groups (1 otherwise); `depthwise` when groups == in == out > 1.
  std::int64_t groups = 1;
  bool depthwise = false;
  /// Class of each output channel (BatchNorm: of each channel) and of each input channel (a
  /// Linear's input features, a Conv2d's input channels) of its first call.
  std::vector<int> out_classes;
  std::vector<int> in_classes;
  /// Conv2d and Linear produce new channels; BatchNorm and depthwise convs pass them through.
  bool produces() const { return (type == "Conv2d" && !depthwise) || type == "Linear"; }
};

/// The equivalence classes of a graph's channel elements.
class ChannelGroups {
 public:
  /// Applies the rule of every node of `graph` (traced from `model`, which supplies module
  /// settings: groups, flatten dims). ValueError for an op or module without a rule.
  ChannelGroups(const Graph& graph, const nn::Module& model);

  const Graph& graph() const { return graph_; }
  /// The number of channels of value i (0 for a value of rank < 2, which has no channel dim).
  std::int64_t channels(int value) const;
  /// The class (0 .. class_count()-1) of element (value, channel).
  int class_of(int value, std::int64_t channel) const;
  /// The classes of value i's channels.
  std::vector<int> classes_of(int value) const;
  int class_count() const { return class_count_; }
  /// Whether class `cls` can never be removed (graph input/output, broadcast input, grouped
  /// conv input).
  bool pinned(int cls) const { return pinned_[static_cast<std::size_t>(cls)]; }
  /// The Conv2d, Linear and BatchNorm layers in graph order (first call).
  const std::vector<ChannelLayer>& layers() const { return layers_; }
  /// The layer named `name`; IndexError if the graph calls no such layer.
  const ChannelLayer& layer(const std::string& name) const;

  /// The layers' output channels grouped by coupling (see compression/pruning/dependency_groups.h):
  /// two layers are in one group when some of their channels share a class. Every layer is in
  /// exactly one group (a lone layer is a group of one), in graph order.
  compression::DependencyGroups dependency_groups() const;

  /// One line per layer: name, type, and its output classes.
  std::string to_string() const;

 private:
  Graph graph_;
  std::vector<std::int64_t> offsets_;  ///< first element of each value; offsets_.back() = total
  std::vector<int> class_;             ///< element -> class
  std::vector<bool> pinned_;           ///< class -> pinned
  int class_count_ = 0;
  std::vector<ChannelLayer> layers_;
};

/// Traces nothing: the dependency groups of `graph` (a convenience for the pruners' option).
compression::DependencyGroups dependency_groups(const Graph& graph, const nn::Module& model);

}  // namespace shrink::speedup
