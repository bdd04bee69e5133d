// Computes a gradient through the installed library: d/dx sum(x*x) = 2x.
#include <cstdio>

#include "autograd/ops.h"

int main() {
  shrink::Tensor x = shrink::from_vector(std::vector<float>{1.5f}, {1}).requires_grad_();
  (x * x).sum().backward();
  std::printf("%g\n", x.grad().item());
  return x.grad().item() == 3.0f ? 0 : 1;
}
