#pragma once
/// \file
/// A tiny training run (Linear-BatchNorm1d-ReLU-Linear, SGD with momentum, StepLR, a generator):
/// the seeds write its weights, masks and checkpoints, and the targets load files into it, so
/// that a file that passes the readers is also restored and trained on.

#include <memory>

#include "autograd/generator.h"
#include "nn/module.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/sgd.h"

namespace shrink::fuzz {

struct SmallRun {
  nn::ModulePtr model;
  std::unique_ptr<optim::SGD> optimizer;
  std::unique_ptr<optim::StepLR> scheduler;
  /// Draws the training data; also the generator a checkpoint saves and restores.
  Generator rng{7};
};

/// A fresh run; its parameters are initialised from the default generator.
SmallRun make_small_run();

/// One step on a random batch of 4 samples of 4 features: forward, backward, optimizer and
/// scheduler step. Exercises every tensor a checkpoint restored (weights, BatchNorm statistics,
/// momentum buffers, learning rates).
void train_step(SmallRun& run);

}  // namespace shrink::fuzz
