// A module of your own, end to end: the complete program of docs/guide-modules.md (kept here so
// that it builds with the examples and runs as a test, and cannot rot).
//
// It defines a layer with its own parameter (Scale) and a model holding typed children (TinyNet),
// masks a weight with a parametrization, counts calls with a forward hook, trains on a synthetic
// task with a learning rate scheduled per batch, checkpoints after the first epoch, and checks
// that resuming from the checkpoint in fresh objects reproduces the second epoch bit for bit.
#include <shrink/shrink.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/command_line.h"

using namespace shrink;

// A layer with one learnable parameter: y = x * weight, weight of shape [features].
class Scale : public nn::Cloneable<Scale> {
 public:
  explicit Scale(std::int64_t features) : Cloneable("Scale"), features_(features) {
    register_parameter("weight", ones({features}));
  }
  std::string extra_repr() const override { return "features=" + std::to_string(features_); }

 protected:
  // Read parameters through param_value(): it applies parametrizations (masks, fake
  // quantisation) inside the graph, and is the parameter itself when there are none.
  Tensor forward(const Tensor& x) override { return x * param_value("weight"); }

 private:
  std::int64_t features_;
};

// A model: children registered with a pointer to the typed member that holds them, so that
// clone() and replace_module() keep the members right.
class TinyNet : public nn::Cloneable<TinyNet> {
 public:
  TinyNet() : Cloneable("TinyNet") {
    register_module("fc1", std::make_shared<nn::Linear>(16, 32), &TinyNet::fc1);
    register_module("scale", std::make_shared<Scale>(32), &TinyNet::scale);
    auto head_steps = std::make_shared<nn::Sequential>();
    head_steps->push_back(std::make_shared<nn::Linear>(32, 3));
    head_steps->push_back([](const Tensor& x) { return x * 2.0f; });  // a function as a step
    register_module("head", head_steps, &TinyNet::head);
  }

  std::shared_ptr<nn::Linear> fc1;
  std::shared_ptr<Scale> scale;
  std::shared_ptr<nn::Sequential> head;

 protected:
  Tensor forward(const Tensor& x) override { return (*head)((*scale)(relu((*fc1)(x)))); }
};

// Masks `module`'s weight: the mask is an ordinary buffer (saved in state_dict and checkpoints
// as "<module>.weight_mask"), and the parametrization multiplies by it inside the graph, so
// masked weights get a zero gradient and the effective weight stays exactly zero.
void mask_weight(nn::Module& module, const Tensor& mask) {
  module.register_buffer("weight_mask", mask);
  module.register_parametrization(
      "weight", [](nn::Module& owner, const Tensor& w) { return w * owner.buffer("weight_mask"); }, "mask");
}

// A synthetic 3-class task: the class counts how many of the first two features are positive.
std::shared_ptr<data::TensorDataset> make_dataset(std::int64_t samples) {
  Generator gen(7);
  Tensor x = randn({samples, 16}, &gen);
  std::vector<std::int64_t> labels(samples);
  const float* v = x.data<float>();
  for (std::int64_t i = 0; i < samples; ++i) labels[i] = (v[i * 16] > 0) + (v[i * 16 + 1] > 0);
  return std::make_shared<data::TensorDataset>(x, from_vector(labels, {samples}));
}

// Everything a run needs, built the same way in the original run and after resuming.
struct Run {
  std::shared_ptr<TinyNet> model = std::make_shared<TinyNet>();
  optim::SGD sgd;
  optim::CosineAnnealingLR schedule;
  explicit Run(std::int64_t total_steps)
      : sgd(model->named_parameters(), {.lr = 0.1, .momentum = 0.9}), schedule(sgd, total_steps) {
    // Keep every other input of fc1: a fixed pattern, like a pruner's mask.
    std::vector<float> mask(32 * 16);
    for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = float(i % 2);
    mask_weight(*model->fc1, from_vector(mask, {32, 16}));
  }
};

// One epoch; the scheduler steps after every batch (its "epoch" counter counts batches).
double train_epoch(Run& run, data::DataLoader& loader, std::int64_t epoch) {
  loader.set_epoch(epoch);  // the shuffle depends only on (seed, epoch): resumable
  double loss_sum = 0;
  std::int64_t batches = 0;
  for (const data::Batch& batch : loader) {
    run.sgd.zero_grad();
    Tensor loss = cross_entropy((*run.model)(batch.data), batch.targets);
    loss.backward();
    run.sgd.step();
    run.schedule.step();
    loss_sum += loss.item();
    ++batches;
  }
  return loss_sum / double(batches);
}

bool same_parameters(const nn::Module& a, const nn::Module& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    const Tensor& x = pa[i].second;
    const Tensor& y = pb[i].second;
    for (std::int64_t k = 0; k < x.numel(); ++k)
      if (x.data<float>()[k] != y.data<float>()[k]) return false;
  }
  return pa.size() == pb.size();
}

int main(int argc, char** argv) {
  CLI::App app{"Train a custom module (docs/guide-modules.md) on a synthetic task, checkpoint it, "
               "and check that resuming reproduces training exactly.",
               "custom_module"};
  std::int64_t epochs = 3;
  std::string checkpoint = "custom_module.ckpt.h5";
  app.add_option("--epochs", epochs, "Epochs to train (at least 2: the check resumes at epoch 1)")
      ->check(cli::positive());
  app.add_option("--checkpoint", checkpoint, "Where to write the checkpoint");
  if (const auto status = cli::parse_command_line(app, argc, argv)) return *status;
  if (epochs < 2) return cli::usage_error(app, "--epochs: expected a number >= 2, got " + std::to_string(epochs));

  manual_seed(0);
  data::DataLoader loader(make_dataset(512), {.batch_size = 32, .shuffle = true, .seed = 1});
  const std::int64_t total_steps = epochs * loader.size();

  Run run(total_steps);
  std::int64_t fc1_calls = 0;
  HookHandle counter =
      run.model->fc1->register_forward_hook([&](nn::Module&, const Tensor&, const Tensor&) { ++fc1_calls; });
  std::printf("%s\n", run.model->to_string().c_str());

  std::printf("epoch 0  loss %.4f\n", train_epoch(run, loader, 0));
  nn::save_checkpoint(checkpoint, *run.model, &run.sgd, &run.schedule, 1);
  for (std::int64_t e = 1; e < epochs; ++e) std::printf("epoch %lld  loss %.4f  lr %.5f\n", (long long)e,
                                                        train_epoch(run, loader, e), run.sgd.lr());
  counter.remove();
  // The mask holds: where it is 0, the weight the forward uses is exactly 0.
  nn::Linear& fc1 = *run.model->fc1;
  const float leaked = sum(abs(fc1.param_value("weight") * (1.0f - fc1.buffer("weight_mask")))).item();
  std::printf("fc1 ran %lld times; masked weights leaking into the forward: %g\n", (long long)fc1_calls, leaked);
  if (leaked != 0.0f) {
    std::fprintf(stderr, "custom_module: expected masked weights to stay 0, got a sum of %g\n", leaked);
    return 1;
  }

  // Resume in fresh objects, as a new process would, and replay the remaining epochs.
  Run resumed(total_steps);
  const std::int64_t start = nn::load_checkpoint(checkpoint, *resumed.model, &resumed.sgd, &resumed.schedule);
  for (std::int64_t e = start; e < epochs; ++e) train_epoch(resumed, loader, e);
  if (!same_parameters(*run.model, *resumed.model)) {
    std::fprintf(stderr, "custom_module: expected the resumed run to match the original bit for bit, got a difference\n");
    return 1;
  }
  std::printf("resumed from %s at epoch %lld: parameters identical to the original run\n", checkpoint.c_str(),
              (long long)start);
  return 0;
}
