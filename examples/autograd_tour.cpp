// A tour of Shrink's autograd: build a tiny model by hand, train it with plain SGD on a
// synthetic regression, and print the loss going down.
#include <cstdio>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "cli/command_line.h"

using namespace shrink;

int main(int argc, char** argv) {
  CLI::App app{"A tour of Shrink's autograd: fits a linear model by hand-written SGD and prints the loss.",
               "autograd_tour"};
  if (const auto status = cli::parse_command_line(app, argc, argv)) return *status;

  Generator gen(0);
  // Data: y = 3·x0 − 2·x1 + 0.5 + noise.
  Tensor x = randn({256, 2}, &gen);
  Tensor true_w = from_vector(std::vector<float>{3.0f, -2.0f}, {2, 1});
  Tensor y = matmul(x, true_w) + 0.5f + randn({256, 1}, &gen) * 0.01f;

  Tensor w = zeros({2, 1}).requires_grad_();
  Tensor b = zeros({1}).requires_grad_();
  for (int step = 0; step <= 100; ++step) {
    Tensor loss = mse_loss(matmul(x, w) + b, y);
    loss.backward();
    {
      NoGradGuard no_grad;
      w.add_(w.grad(), -0.1f);
      b.add_(b.grad(), -0.1f);
    }
    w.zero_grad();
    b.zero_grad();
    if (step % 20 == 0) std::printf("step %3d  loss %.6f\n", step, loss.item());
  }
  std::printf("learned w = [%.3f, %.3f], b = %.3f (true: [3, -2], 0.5)\n", w.at({0, 0}), w.at({1, 0}), b.at({0}));
  return 0;
}
