#pragma once
/// \file
/// GraphModule: a module that runs a traced Graph (torch.fx's GraphModule): leaf modules by their
/// dotted names, functional ops by replay (speedup/functional_ops.h).

#include <map>

#include "autograd/kernels/activation.h"
#include "nn/module.h"
#include "speedup/functional_ops.h"
#include "speedup/graph.h"

namespace shrink::speedup {

/// Holds the leaf modules of a graph under their dotted names (in PyTorch, a plain nn.Module):
/// "features.0" lives in a Container "features" as child "0". Not callable on its own.
class Container : public nn::Cloneable<Container> {
 public:
  Container() : Cloneable("Module") {}

 protected:
  Tensor forward(const Tensor& input) override;
};

class GraphModule : public nn::Cloneable<GraphModule> {
 public:
  /// Runs `graph` with the modules of `model`, which is shared, not copied: `model`'s top-level
  /// children become this module's children, so names, parameters and state_dict keys are
  /// `model`'s. ValueError when a Module node names a module `model` does not have.
  GraphModule(const nn::Module& model, Graph graph);
  /// Runs `graph` with `modules` (dotted name -> module), placed in Containers by their names.
  /// ValueError when a Module node has no module, or a name is taken twice.
  GraphModule(Graph graph, const std::map<std::string, nn::ModulePtr>& modules);

  const Graph& graph() const { return graph_; }
  /// Replaces the graph and the whole module tree with `modules`, as the constructor from
  /// modules builds them (graph rewrites such as speedup::fuse_for_inference). The training
  /// mode stays this module's. Same errors as that constructor; on an error this module is
  /// left unchanged.
  void reset(Graph graph, const std::map<std::string, nn::ModulePtr>& modules);
  std::string extra_repr() const override;
  /// Number of Conv2d or add nodes whose one consumer is a relu or relu6 (op or ReLU/ReLU6
  /// module): under NoGradGuard, when no module of the pair has hooks, forward runs each such
  /// conv as one conv that applies the activation as it writes its output, and applies it in
  /// place on such a sum (the same floats as the two steps). After
  /// speedup::fuse_for_inference the conv → BatchNorm → relu chains of the zoo qualify.
  std::size_t fusable_activations();
  /// Samples per slice of a large no-grad batch (see forward); 0 restores the default. A
  /// multiple of 16 (kernels::kGemmRowBlock) keeps every float of the whole-batch forward; other
  /// sizes may round a Linear's products differently (by an ulp).
  void set_micro_batch(std::int64_t samples) { micro_batch_ = samples; }
  /// The slice size: set_micro_batch's, else as many samples as keep the largest activation of
  /// one slice (from the traced shapes) within kSliceBytes, a multiple of 16 and at least 16.
  std::int64_t micro_batch() const;

 protected:
  Tensor forward(const Tensor& input) override;

 private:
  /// The module of every Module node (null for the others), looked up again after any change
  /// of the module tree (replace_module), together with last_use_ and activation_fusion_.
  const std::vector<nn::ModulePtr>& node_modules();
  /// Runs the graph once on `input` (forward minus the micro-batching), with the plan of the
  /// node_modules() call forward made.
  Tensor run_graph(const Tensor& input);
  /// What every forward needs of the graph, worked out once: each value's last use, and the
  /// Conv2d nodes whose value only feeds a relu or relu6 (op or module), which forward runs
  /// without grad recording as one conv that applies the activation as it writes.
  void plan_forward();
  /// ValueError unless every Module node names a module of this tree, of the recorded type.
  void check_modules();
  /// Registers `modules` under their dotted names, creating Containers for the prefixes.
  void place_modules(const std::map<std::string, nn::ModulePtr>& modules);

  static constexpr std::int64_t kSliceBytes = 1 << 20;
  std::int64_t micro_batch_ = 0;
  Graph graph_;
  std::vector<nn::ModulePtr> node_modules_;
  /// Per Function node: its replay rule, looked up once (null: run_function reports the error).
  std::vector<ReplayRule> replay_rules_;
  /// Per node: the activation its Conv2d can apply for its one consumer node (None: no fusion).
  struct ActivationFusion {
    kernels::Activation act = kernels::Activation::None;
    std::size_t consumer = 0;
  };
  std::vector<ActivationFusion> activation_fusion_;
  /// Per node: the index of the last node that reads its value (the node count for the output),
  /// after which forward frees it.
  std::vector<std::size_t> last_use_;
  std::uint64_t modules_version_ = 0;
};

}  // namespace shrink::speedup
