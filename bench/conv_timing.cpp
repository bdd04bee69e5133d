// Times conv2d in Shrink on the benchmark shapes (batch 128): forward + backward with the input,
// weight and bias requiring grad and a random output gradient, and forward alone without grad.
// Prints one JSON object per shape and line (median over repetitions after warm-up), read by
// bench/conv_vs_torch.py, which runs the same shapes in PyTorch.
//
//   conv_timing [--reps 10] [--warmup 3] [--batch 128] [--only INDEX]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"

using namespace shrink;
using Clock = std::chrono::steady_clock;

namespace {

struct Shape2d {
  const char* name;
  std::int64_t cin, cout, hw, k, pad, groups;
};

// The shapes of the zoo's conv layers (LeNet, VGG-small, ResNet-20 style stages, MobileNet).
const Shape2d kShapes[] = {
    {"1->32 28x28 3x3 p1", 1, 32, 28, 3, 1, 1},   {"32->32 28x28 3x3 p1", 32, 32, 28, 3, 1, 1},
    {"32->64 14x14 3x3 p1", 32, 64, 14, 3, 1, 1}, {"64->64 14x14 3x3 p1", 64, 64, 14, 3, 1, 1},
    {"64->128 7x7 3x3 p1", 64, 128, 7, 3, 1, 1},  {"128->128 7x7 3x3 p1", 128, 128, 7, 3, 1, 1},
    {"1->20 28x28 5x5", 1, 20, 28, 5, 0, 1},      {"20->50 12x12 5x5", 20, 50, 12, 5, 0, 1},
    {"dw 32 14x14 3x3 p1", 32, 32, 14, 3, 1, 32},
};

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 10, warmup = 3, only = -1;
  std::int64_t batch = 128;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--reps"))
      reps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--warmup"))
      warmup = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch"))
      batch = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--only"))
      only = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: conv_timing [--reps 10] [--warmup 3] [--batch 128] [--only INDEX]\n");
      return 2;
    }
  }
  for (int index = 0; index < static_cast<int>(std::size(kShapes)); ++index) {
    if (only >= 0 && index != only) continue;
    const Shape2d& s = kShapes[index];
    Generator gen(0);
    Tensor x = randn({batch, s.cin, s.hw, s.hw}, &gen).requires_grad_();
    Tensor w = (randn({s.cout, s.cin / s.groups, s.k, s.k}, &gen) * 0.1f).detach().requires_grad_();
    Tensor b = randn({s.cout}, &gen).requires_grad_();
    Conv2dParams p;
    p.padding = {s.pad, s.pad};
    p.groups = s.groups;
    const std::int64_t oh = s.hw + 2 * s.pad - s.k + 1;
    const Tensor gy = randn({batch, s.cout, oh, oh}, &gen);
    std::vector<double> train, fwd;
    for (int r = 0; r < warmup + reps; ++r) {
      x.zero_grad(), w.zero_grad(), b.zero_grad();
      const auto t0 = Clock::now();
      conv2d(x, w, b, p).backward(gy);
      if (r >= warmup) train.push_back(ms_since(t0));
    }
    {
      NoGradGuard no_grad;
      for (int r = 0; r < warmup + reps; ++r) {
        const auto t0 = Clock::now();
        Tensor y = conv2d(x, w, b, p);
        if (r >= warmup) fwd.push_back(ms_since(t0));
      }
    }
    std::printf(
        "{\"index\": %d, \"shape\": \"%s\", \"batch\": %lld, \"cin\": %lld, \"cout\": %lld, \"hw\": %lld, \"k\": %lld, "
        "\"pad\": %lld, "
        "\"groups\": %lld, \"threads\": %d, \"ms\": %.4f, \"fwd_ms\": %.4f}\n",
        index, s.name, static_cast<long long>(batch), static_cast<long long>(s.cin), static_cast<long long>(s.cout),
        static_cast<long long>(s.hw), static_cast<long long>(s.k), static_cast<long long>(s.pad),
        static_cast<long long>(s.groups), omp_get_max_threads(), median(train), median(fwd));
    std::fflush(stdout);
  }
  return 0;
}
