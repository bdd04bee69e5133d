#include "fuzz/small_run.h"

#include "autograd/ops.h"
#include "nn/layers.h"

namespace shrink::fuzz {

SmallRun make_small_run() {
  SmallRun run;
  run.model = std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
      std::make_shared<nn::Linear>(4, 3), std::make_shared<nn::BatchNorm1d>(3), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Linear>(3, 2)});
  run.optimizer = std::make_unique<optim::SGD>(run.model->named_parameters(),
                                               optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-3).nesterov(true));
  run.scheduler = std::make_unique<optim::StepLR>(*run.optimizer, 2, 0.5);
  return run;
}

void train_step(SmallRun& run) {
  run.model->train();
  const Tensor x = randn({4, 4}, &run.rng);
  const Tensor y = randint(0, 2, {4}, &run.rng);
  Tensor loss = cross_entropy((*run.model)(x), y);
  run.optimizer->zero_grad();
  loss.backward();
  run.optimizer->step();
  run.scheduler->step();
}

}  // namespace shrink::fuzz
