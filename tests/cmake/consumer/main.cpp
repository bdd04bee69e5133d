// Uses each library of the installed (or vendored) Shrink through the umbrella header: a
// gradient (autograd), a zoo model and one SGD step (nn), a state_dict file round trip (io, HDF5).
#include <shrink/shrink.h>

#include <cstdio>
#include <string>

using namespace shrink;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer <scratch directory>\n");
    return 2;
  }
  Tensor x = from_vector(std::vector<float>{1.5f}, {1}).requires_grad_();
  (x * x).sum().backward();
  if (x.grad().item() != 3.0f) {
    std::fprintf(stderr, "consumer: expected d/dx x^2 = 3 at 1.5, got %g\n", x.grad().item());
    return 1;
  }

  manual_seed(0);
  nn::ModulePtr model = models::create("mlp");
  optim::SGD sgd(model->named_parameters(), {.lr = 0.1});
  Tensor input = randn({4, 1, 28, 28});
  Tensor targets = from_vector(std::vector<std::int64_t>{0, 1, 2, 3}, {4});
  Tensor before = cross_entropy((*model)(input), targets);
  before.backward();
  sgd.step();
  Tensor after = cross_entropy((*model)(input), targets);
  if (!(after.item() < before.item())) {
    std::fprintf(stderr, "consumer: expected the loss to fall after one SGD step, got %g -> %g\n",
                 before.item(), after.item());
    return 1;
  }

  const std::string path = std::string(argv[1]) + "/mlp.h5";
  io::save_state_dict(model->state_dict(), path);
  io::StateDict loaded = io::load_state_dict(path);
  if (loaded.size() != model->state_dict().size()) {
    std::fprintf(stderr, "consumer: expected %zu entries in %s, got %zu\n", model->state_dict().size(),
                 path.c_str(), loaded.size());
    return 1;
  }
  std::printf("consumer ok: grad %g, loss %.4f -> %.4f, %zu entries\n", x.grad().item(), before.item(),
              after.item(), loaded.size());
  return 0;
}
