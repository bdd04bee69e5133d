#pragma once
/// \file
/// The short training run the quantizer tests share: a tiny MLP fitted to fixed random data; the
/// hand-checked one-layer model of the LSQ tests.

#include <memory>
#include <vector>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/quantization/quantizer.h"
#include "nn/layers.h"
#include "nn/optim/optimizer.h"

namespace shrink::testing {

/// A float32 tensor of `shape` holding `values`.
inline Tensor vec(std::vector<float> values, Shape shape) { return from_vector(values, std::move(shape)); }

/// Linear(4, 8) → ReLU → Linear(8, 2), initialised from `seed`.
inline nn::ModulePtr tiny_mlp(std::uint64_t seed) {
  manual_seed(seed);
  auto model = std::make_shared<nn::Sequential>();
  model->push_back(std::make_shared<nn::Linear>(4, 8));
  model->push_back(std::make_shared<nn::ReLU>());
  model->push_back(std::make_shared<nn::Linear>(8, 2));
  return model;
}

/// Linear(2, 2) with weight [[1, −2], [3, −4]] and bias [0.5, −0.25].
inline nn::ModulePtr hand_linear() {
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(std::make_shared<nn::Linear>(2, 2));
  NoGradGuard no_grad;
  m->find_module("0")->param("weight").copy_(vec({1.0f, -2.0f, 3.0f, -4.0f}, {2, 2}));
  m->find_module("0")->param("bias").copy_(vec({0.5f, -0.25f}, {2}));
  return m;
}

struct TrainingLosses {
  float first = 0;
  float last = 0;
};

/// `steps` rounds of zero_grad, MSE loss on 16 fixed random samples, backward, opt.step() and
/// quantizer.step(); the first and the last loss.
inline TrainingLosses train_briefly(nn::Module& model, optim::Optimizer& opt, compression::Quantizer& quantizer, int steps = 20) {
  const Tensor x = randn({16, 4}), y = randn({16, 2});
  TrainingLosses out;
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    Tensor loss = mse_loss(model(x), y);
    (i == 0 ? out.first : out.last) = loss.item<float>();
    loss.backward();
    opt.step();
    quantizer.step();
  }
  return out;
}

}  // namespace shrink::testing
