// Channel coupling: a union-find over (value, channel) elements, one rule per op.
#include "speedup/channel_groups.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <sstream>

#include "autograd/error.h"
#include "nn/modules/basic.h"
#include "nn/modules/conv.h"

namespace shrink::speedup {
namespace {

using i64 = std::int64_t;

enum class Rule { PassThrough, Join, Cat, Flatten, Reshape, Reduce, SpatialOnly, Linear, Conv };

/// The rule table: module types and functional op names.
const std::map<std::string, Rule>& module_rules() {
  static const std::map<std::string, Rule> rules = {
      {"BatchNorm1d", Rule::PassThrough},
      {"BatchNorm2d", Rule::PassThrough},
      {"ReLU", Rule::PassThrough},
      {"ReLU6", Rule::PassThrough},
      {"LeakyReLU", Rule::PassThrough},
      {"GELU", Rule::PassThrough},
      {"Sigmoid", Rule::PassThrough},
      {"Tanh", Rule::PassThrough},
      {"Dropout", Rule::PassThrough},
      {"Identity", Rule::PassThrough},
      {"MaxPool2d", Rule::PassThrough},
      {"AvgPool2d", Rule::PassThrough},
      {"AdaptiveAvgPool2d", Rule::PassThrough},
      {"Flatten", Rule::Flatten},
      {"Conv2d", Rule::Conv},
      {"Linear", Rule::Linear},
  };
  return rules;
}

const std::map<std::string, Rule>& function_rules() {
  static const std::map<std::string, Rule> rules = {
      {"relu", Rule::PassThrough},
      {"relu6", Rule::PassThrough},
      {"leaky_relu", Rule::PassThrough},
      {"gelu", Rule::PassThrough},
      {"sigmoid", Rule::PassThrough},
      {"tanh", Rule::PassThrough},
      {"identity", Rule::PassThrough},
      {"neg", Rule::PassThrough},
      {"exp", Rule::PassThrough},
      {"clamp", Rule::PassThrough},
      {"add_scalar", Rule::PassThrough},
      {"sub_scalar", Rule::PassThrough},
      {"mul_scalar", Rule::PassThrough},
      {"div_scalar", Rule::PassThrough},
      {"pow_scalar", Rule::PassThrough},
      {"max_pool2d", Rule::PassThrough},
      {"avg_pool2d", Rule::PassThrough},
      {"adaptive_avg_pool2d", Rule::PassThrough},
      {"add", Rule::Join},
      {"sub", Rule::Join},
      {"mul", Rule::Join},
      {"div", Rule::Join},
      {"cat", Rule::Cat},
      {"flatten", Rule::Flatten},
      {"reshape", Rule::Reshape},
      {"mean", Rule::Reduce},
      {"sum", Rule::Reduce},
      {"slice", Rule::SpatialOnly},
      {"narrow", Rule::SpatialOnly},
      {"unsqueeze", Rule::SpatialOnly},
  };
  return rules;
}

std::string keys(const std::map<std::string, Rule>& table) {
  std::string out;
  for (const auto& [name, rule] : table) out += (out.empty() ? "" : ", ") + name;
  return out;
}

/// "node 'x' (op 'cat' in module 'layer1.0')" / "node 'fc' (module 'fc', Linear)".
std::string where(const GraphNode& n) {
  if (n.kind == NodeKind::Module) return "node '" + n.name + "' (module '" + n.target + "', " + n.module_type + ")";
  return "node '" + n.name + "' (op '" + n.target + "' " +
         (n.scope.empty() ? "at top level" : "in module '" + n.scope + "'") + ")";
}

template <typename T>
const T* find_attr(const GraphNode& n, const char* name) {
  for (const auto& [key, value] : n.attrs)
    if (key == name && std::holds_alternative<T>(value)) return &std::get<T>(value);
  return nullptr;
}

i64 attr_int(const GraphNode& n, const char* name) {
  const i64* v = find_attr<i64>(n, name);
  SHRINK_CHECK(v != nullptr, "channel_groups: ", where(n), ": expected an int attribute \"", name, "\", got none");
  return *v;
}

i64 normalize_dim(i64 dim, std::size_t rank) { return dim < 0 ? dim + static_cast<i64>(rank) : dim; }

class UnionFind {
 public:
  explicit UnionFind(i64 n) : parent_(static_cast<std::size_t>(n)) { std::iota(parent_.begin(), parent_.end(), 0); }
  i64 find(i64 x) {
    while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
    return x;
  }
  void join(i64 a, i64 b) {
    a = find(a), b = find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);
  }

 private:
  std::vector<i64> parent_;
};

}  // namespace

ChannelGroups::ChannelGroups(const Graph& graph, const nn::Module& model) : graph_(graph) {
  graph_.validate();
  const auto n_values = graph_.nodes.size();
  offsets_.assign(n_values + 1, 0);
  for (std::size_t i = 0; i < n_values; ++i) offsets_[i + 1] = offsets_[i] + channels(static_cast<int>(i));
  UnionFind uf(offsets_.back());
  std::vector<i64> pins;
  auto el = [&](int v, i64 c) { return offsets_[static_cast<std::size_t>(v)] + c; };
  auto pin_all = [&](int v) {
    for (i64 c = 0; c < channels(v); ++c) pins.push_back(el(v, c));
  };
  auto pass = [&](const GraphNode& n, int out, int in) {
    SHRINK_CHECK(channels(out) == channels(in), "channel_groups: ", where(n), ": expected as many output channels as ",
                 "input channels (", channels(in), "), got ", channels(out));
    for (i64 c = 0; c < channels(in); ++c) uf.join(el(out, c), el(in, c));
  };
  auto block_map = [&](const GraphNode& n, int out, int in) {
    const i64 cin = channels(in), cout = channels(out);
    SHRINK_CHECK(cin > 0 && cout % cin == 0, "channel_groups: ", where(n), ": expected the output's dim 1 (", cout,
                 ") to be a multiple of the input's channels (", cin, ")");
    const i64 block = cout / cin;
    for (i64 c = 0; c < cin; ++c)
      for (i64 k = 0; k < block; ++k) uf.join(el(out, c * block + k), el(in, c));
  };
  std::map<std::string, int> first_call;
  for (std::size_t i = 0; i < n_values; ++i) {
    const GraphNode& n = graph_.nodes[i];
    const int out = static_cast<int>(i);
    if (n.kind == NodeKind::Input) {
      pin_all(out);
      continue;
    }
    const bool is_module = n.kind == NodeKind::Module;
    const auto& table = is_module ? module_rules() : function_rules();
    const auto rule_it = table.find(is_module ? n.module_type : n.target);
    SHRINK_CHECK(rule_it != table.end(), "channel_groups: ", where(n), ": expected ",
                 is_module ? "a module type" : "an op", " with a channel rule, got none; ",
                 is_module ? "module types" : "ops", " with rules: ", keys(table),
                 ". Hint: speedup cannot tell which channels this ", is_module ? "module" : "op",
                 " couples; express it with supported ops or leave the model unshrunk");
    const int in = n.inputs.empty() ? -1 : n.inputs[0];
    const std::size_t rank = n.shape.size();
    SHRINK_CHECK(rank >= 2 || rule_it->second == Rule::Reduce, "channel_groups: ", where(n),
                 ": expected an output of rank >= 2 ([N, C, ...]), got ", shape_str(n.shape));
    switch (rule_it->second) {
      case Rule::PassThrough:
        pass(n, out, in);
        break;
      case Rule::Join:
        for (int a : n.inputs) {
          const GraphNode& src = graph_.nodes[static_cast<std::size_t>(a)];
          SHRINK_CHECK(src.shape.size() == rank, "channel_groups: ", where(n),
                       ": expected inputs of the output's rank ", rank, ", got ", shape_str(src.shape),
                       " (a broadcast across the channel dim has no rule)");
          if (channels(a) == channels(out)) {
            pass(n, out, a);
          } else {
            SHRINK_CHECK(channels(a) == 1, "channel_groups: ", where(n), ": expected an input with ", channels(out),
                         " channels or 1 (broadcast), got ", shape_str(src.shape));
            pin_all(a);  // one channel read by every output channel: never removed
          }
        }
        break;
      case Rule::Cat: {
        const i64 dim = normalize_dim(attr_int(n, "dim"), rank);
        SHRINK_CHECK(dim != 0, "channel_groups: ", where(n),
                     ": expected cat along a dim other than the batch, got dim 0");
        i64 offset = 0;
        for (int a : n.inputs) {
          for (i64 c = 0; c < channels(a); ++c) uf.join(el(out, dim == 1 ? offset + c : c), el(a, c));
          if (dim != 1) pass(n, out, a);
          offset += channels(a);
        }
        break;
      }
      case Rule::Flatten: {
        i64 start = 0;
        if (is_module) {
          const auto* f = model.find_module(n.target)->as<nn::Flatten>();
          SHRINK_CHECK(f != nullptr, "channel_groups: ", where(n), ": expected an nn::Flatten");
          start = f->start_dim();
        } else {
          start = attr_int(n, "start_dim");
        }
        start = normalize_dim(start, graph_.nodes[static_cast<std::size_t>(in)].shape.size());
        SHRINK_CHECK(start >= 1, "channel_groups: ", where(n), ": expected flatten from dim 1 or later, got start_dim ",
                     start, " (the batch dim would be merged)");
        if (start == 1)
          block_map(n, out, in);
        else
          pass(n, out, in);
        break;
      }
      case Rule::Reshape: {
        const Shape& s = graph_.nodes[static_cast<std::size_t>(in)].shape;
        SHRINK_CHECK(s.size() >= 2 && n.shape[0] == s[0], "channel_groups: ", where(n), ": expected a reshape that ",
                     "keeps the batch dim, got ", shape_str(s), " -> ", shape_str(n.shape));
        if (n.shape[1] == s[1]) {
          pass(n, out, in);
        } else {
          i64 rest = 1;
          for (std::size_t d = 1; d < s.size(); ++d) rest *= s[d];
          SHRINK_CHECK(rank == 2 && n.shape[1] == rest, "channel_groups: ", where(n), ": expected a reshape to [N, ",
                       rest, "] (a flatten) or one that keeps dim 1, got ", shape_str(s), " -> ", shape_str(n.shape));
          block_map(n, out, in);
        }
        break;
      }
      case Rule::Reduce: {
        const auto* dims = find_attr<std::vector<i64>>(n, "dims");
        const std::size_t in_rank = graph_.nodes[static_cast<std::size_t>(in)].shape.size();
        bool spatial = dims != nullptr && !dims->empty();
        if (dims)
          for (i64 d : *dims) spatial = spatial && normalize_dim(d, in_rank) >= 2;
        SHRINK_CHECK(spatial, "channel_groups: ", where(n), ": expected a reduction over spatial dims (2 and later) ",
                     "only, got one over the batch or channel dim, which has no channel rule");
        pass(n, out, in);
        break;
      }
      case Rule::SpatialOnly: {
        const i64 dim = normalize_dim(attr_int(n, "dim"), n.target == "unsqueeze" ? rank : rank);
        SHRINK_CHECK(dim >= 2, "channel_groups: ", where(n), ": expected ", n.target,
                     " on a spatial dim (2 or later), got dim ", dim, ", which has no channel rule");
        pass(n, out, in);
        break;
      }
      case Rule::Linear:
        SHRINK_CHECK(graph_.nodes[static_cast<std::size_t>(in)].shape.size() == 2, "channel_groups: ", where(n),
                     ": expected a Linear on [N, features], got input ",
                     shape_str(graph_.nodes[static_cast<std::size_t>(in)].shape),
                     " (features are not dim 1). Hint: flatten to [N, F] first");
        break;
      case Rule::Conv: {
        const auto* conv = model.find_module(n.target)->as<nn::Conv2d>();
        SHRINK_CHECK(conv != nullptr, "channel_groups: ", where(n), ": expected an nn::Conv2d");
        const nn::Conv2dOptions& o = conv->options();
        if (o.groups > 1 && o.groups == o.in_channels && o.groups == o.out_channels)
          pass(n, out, in);
        else if (o.groups > 1)
          pin_all(in);
        break;
      }
    }
    if (is_module) {
      // A module called several times: its calls keep and remove the same channels.
      const auto [it, first] = first_call.emplace(n.target, out);
      if (!first) {
        const GraphNode& f = graph_.nodes[static_cast<std::size_t>(it->second)];
        pass(n, out, it->second);
        pass(n, in, f.inputs[0]);
      }
    }
  }
  pin_all(graph_.output);

  // Dense class ids, in element order.
  const i64 total = offsets_.back();
  class_.assign(static_cast<std::size_t>(total), -1);
  std::vector<int> root_class(static_cast<std::size_t>(total), -1);
  for (i64 e = 0; e < total; ++e) {
    int& cls = root_class[static_cast<std::size_t>(uf.find(e))];
    if (cls < 0) cls = class_count_++;
    class_[static_cast<std::size_t>(e)] = cls;
  }
  pinned_.assign(static_cast<std::size_t>(class_count_), false);
  for (i64 e : pins) pinned_[static_cast<std::size_t>(class_[static_cast<std::size_t>(e)])] = true;

  for (std::size_t i = 0; i < n_values; ++i) {
    const GraphNode& n = graph_.nodes[i];
    if (n.kind != NodeKind::Module) continue;
    const std::string& t = n.module_type;
    if (t != "Conv2d" && t != "Linear" && t != "BatchNorm1d" && t != "BatchNorm2d") continue;
    auto found =
        std::find_if(layers_.begin(), layers_.end(), [&](const ChannelLayer& l) { return l.name == n.target; });
    if (found != layers_.end()) {
      found->nodes.push_back(static_cast<int>(i));
      continue;
    }
    ChannelLayer layer;
    layer.name = n.target;
    layer.type = t;
    layer.nodes = {static_cast<int>(i)};
    if (t == "Conv2d") {
      const auto& o = model.find_module(n.target)->as<nn::Conv2d>()->options();
      layer.groups = o.groups;
      layer.depthwise = o.groups > 1 && o.groups == o.in_channels && o.groups == o.out_channels;
    }
    layer.out_classes = classes_of(static_cast<int>(i));
    layer.in_classes = classes_of(n.inputs[0]);
    layers_.push_back(std::move(layer));
  }
}

std::int64_t ChannelGroups::channels(int value) const {
  const Shape& s = graph_.nodes[static_cast<std::size_t>(value)].shape;
  return s.size() >= 2 ? s[1] : 0;
}

int ChannelGroups::class_of(int value, std::int64_t channel) const {
  SHRINK_CHECK_INDEX(
      value >= 0 && static_cast<std::size_t>(value) < graph_.nodes.size() && channel >= 0 && channel < channels(value),
      "ChannelGroups::class_of: expected a value in [0, ", graph_.nodes.size(), ") and one of its channels, got (",
      value, ", ", channel, ")");
  return class_[static_cast<std::size_t>(offsets_[static_cast<std::size_t>(value)] + channel)];
}

std::vector<int> ChannelGroups::classes_of(int value) const {
  std::vector<int> out;
  for (i64 c = 0; c < channels(value); ++c) out.push_back(class_of(value, c));
  return out;
}

const ChannelLayer& ChannelGroups::layer(const std::string& name) const {
  for (const ChannelLayer& l : layers_)
    if (l.name == name) return l;
  SHRINK_CHECK_INDEX(false, "ChannelGroups::layer: expected a Conv2d, Linear or BatchNorm the graph calls, got '", name,
                     "'");
  throw InternalError("unreachable");
}

compression::DependencyGroups ChannelGroups::dependency_groups() const {
  // Layers sharing a class are connected; components in order of their first layer.
  UnionFind uf(static_cast<i64>(layers_.size()));
  std::vector<int> owner(static_cast<std::size_t>(class_count_), -1);
  for (std::size_t l = 0; l < layers_.size(); ++l)
    for (int cls : layers_[l].out_classes) {
      int& o = owner[static_cast<std::size_t>(cls)];
      if (o < 0)
        o = static_cast<int>(l);
      else
        uf.join(o, static_cast<i64>(l));
    }
  compression::DependencyGroups groups;
  std::map<i64, std::size_t> group_of_root;
  std::vector<std::map<int, i64>> local(layers_.size());
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const auto [it, fresh] = group_of_root.emplace(uf.find(static_cast<i64>(l)), groups.size());
    if (fresh) groups.emplace_back();
    compression::DependencyGroup& g = groups[it->second];
    std::map<int, i64>& ids = local[it->second];
    compression::DependencyGroup::Member m{layers_[l].name, layers_[l].type, {}};
    for (int cls : layers_[l].out_classes) {
      const auto [id, added] = ids.emplace(cls, g.channels);
      if (added) {
        ++g.channels;
        g.pinned.push_back(pinned(cls));
      }
      m.channel_map.push_back(id->second);
    }
    g.members.push_back(std::move(m));
  }
  return groups;
}

std::string ChannelGroups::to_string() const {
  std::ostringstream os;
  for (const ChannelLayer& l : layers_) {
    os << l.name << " (" << l.type << (l.depthwise ? ", depthwise" : l.groups > 1 ? ", grouped" : "") << "): out [";
    for (std::size_t c = 0; c < l.out_classes.size(); ++c) os << (c ? " " : "") << l.out_classes[c];
    os << "]\n";
  }
  return os.str();
}

compression::DependencyGroups dependency_groups(const Graph& graph, const nn::Module& model) {
  return ChannelGroups(graph, model).dependency_groups();
}

}  // namespace shrink::speedup
