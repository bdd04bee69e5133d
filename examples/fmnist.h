#pragma once
/// \file
/// What the Fashion-MNIST example programs share: the normalisation, a prefix of a dataset, one
/// training epoch and the top-1 evaluation loop.

#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "io/data/dataloader.h"
#include "io/data/dataset.h"
#include "io/data/transforms.h"
#include "io/metrics.h"
#include "nn/module.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/optimizer.h"
#include "nn/optim/sgd.h"

namespace shrink::examples {

/// Normalisation by Fashion-MNIST's training-set mean and standard deviation.
inline std::shared_ptr<data::Normalize> fmnist_normalize() {
  return std::make_shared<data::Normalize>(std::vector<float>{0.2860f}, std::vector<float>{0.3530f});
}

/// The first `n` samples of `dataset` as a dataset of their own (all of them when n <= 0).
inline std::shared_ptr<const data::Dataset> first(std::shared_ptr<const data::Dataset> dataset, std::int64_t n) {
  if (n <= 0 || n >= dataset->size()) return dataset;
  std::vector<std::int64_t> indices(static_cast<std::size_t>(n));
  std::iota(indices.begin(), indices.end(), 0);
  data::Batch b = dataset->get_batch(indices);
  return std::make_shared<data::TensorDataset>(b.data, b.targets);
}

/// Optional additions to a training step.
struct StepHooks {
  /// The loss of a batch from the model's logits, instead of the cross-entropy (e.g. a
  /// Distiller's loss); cross-entropy when empty.
  std::function<Tensor(const data::Batch& batch, const Tensor& logits)> loss;
  /// A term added to the loss before backward (e.g. a pruner's regulariser); none when empty.
  std::function<Tensor()> extra_loss;
  /// Called after every optimizer.step() (e.g. a pruner's step()).
  std::function<void()> after_step;
};

/// One epoch of training in train mode (zero_grad, forward, cross-entropy, backward, step), with a
/// progress line starting with `description` that ends with the training accuracy and the
/// learning rate. Returns the training accuracy.
inline double train_epoch(nn::Module& model, data::DataLoader& loader, optim::Optimizer& optimizer,
                          const std::string& description, const StepHooks& hooks = {}) {
  model.train();
  io::Progress progress(loader.size(), {.description = description});
  io::RunningMean train_accuracy;
  for (const data::Batch& batch : loader) {
    const Tensor logits = model(batch.data);
    Tensor loss = hooks.loss ? hooks.loss(batch, logits) : cross_entropy(logits, batch.targets);
    if (hooks.extra_loss) loss = loss + hooks.extra_loss();
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    if (hooks.after_step) hooks.after_step();
    train_accuracy.update(io::accuracy(logits.detach(), batch.targets), static_cast<double>(batch.targets.size(0)));
    progress.step(batch.targets.size(0), loss.item());
  }
  progress.finish({{"acc", train_accuracy.mean()}, {"lr", optimizer.lr()}});
  return train_accuracy.mean();
}

/// The examples' dense recipe: `epochs` epochs of SGD (momentum 0.9, weight decay 5e-4) from
/// learning rate `lr`, cosine-annealed to 0, epoch e shuffled with seed e; progress lines start
/// with "<label> e/epochs".
inline void train_dense(nn::Module& model, data::DataLoader& loader, std::int64_t epochs, double lr,
                        const std::string& label) {
  optim::SGD optimizer(model.named_parameters(), optim::SGDOptions(lr).momentum(0.9).weight_decay(5e-4));
  optim::CosineAnnealingLR scheduler(optimizer, epochs);
  for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
    loader.set_epoch(epoch);
    train_epoch(model, loader, optimizer, label + " " + std::to_string(epoch + 1) + "/" + std::to_string(epochs));
    scheduler.step();
  }
}

/// What evaluate_metrics() measures over a test set.
struct Evaluation {
  double accuracy = 0;  ///< top-1, in [0, 1]
  double loss = 0;      ///< mean cross-entropy per image
  std::int64_t images = 0;
};

/// Top-1 accuracy and mean cross-entropy of `model` over `loader` in eval mode without grad, with
/// a progress line starting with `description`.
inline Evaluation evaluate_metrics(nn::Module& model, data::DataLoader& loader,
                                   const std::string& description = "  test") {
  NoGradGuard no_grad;
  model.eval();
  io::Progress progress(loader.size(), {.description = description});
  std::int64_t correct = 0;
  Evaluation result;
  for (const data::Batch& batch : loader) {
    const Tensor logits = model(batch.data);
    const Tensor loss = cross_entropy(logits, batch.targets);
    correct += io::correct_topk(logits, batch.targets);
    result.images += batch.targets.size(0);
    progress.step(batch.targets.size(0), loss.item());
  }
  if (result.images) result.accuracy = static_cast<double>(correct) / static_cast<double>(result.images);
  result.loss = result.images ? progress.mean_loss() : 0.0;
  progress.finish({{"acc", result.accuracy}});
  return result;
}

/// Top-1 accuracy of `model` over `loader` (evaluate_metrics' accuracy).
inline double evaluate(nn::Module& model, data::DataLoader& loader, const std::string& description = "  test") {
  return evaluate_metrics(model, loader, description).accuracy;
}

}  // namespace shrink::examples
