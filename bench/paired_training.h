#pragma once
/// \file
/// What the paired training timers share (bench/prune_timing.cpp, bench/qat_timing.cpp): a zoo
/// model with its SGD (momentum 0.9) timed step by step, the fixed batch, the loop in which a dense
/// model and compressed copies step in turn, and the command line (--models, --steps, --warmup).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "autograd/ops.h"
#include "nn/models/registry.h"
#include "nn/optim/sgd.h"

namespace shrink::bench {

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// One zoo model (seed 0, train mode) with its optimizer (lr 0.01, momentum 0.9).
struct Trainee {
  nn::ModulePtr model;
  std::unique_ptr<optim::SGD> sgd;
  /// Called after every optimizer step (a compressor's step()); none when empty.
  std::function<void()> after_step;

  explicit Trainee(const std::string& name) {
    manual_seed(0);
    model = models::create(name);
    model->train();
    sgd = std::make_unique<optim::SGD>(model->named_parameters(), optim::SGDOptions(0.01).momentum(0.9));
  }

  /// Milliseconds of one training step: zero_grad, forward, cross-entropy, backward, step.
  double step(const Tensor& x, const Tensor& y) {
    const auto t0 = std::chrono::steady_clock::now();
    sgd->zero_grad();
    Tensor loss = cross_entropy((*model)(x), y);
    loss.backward();
    sgd->step();
    if (after_step) after_step();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
};

/// Median step milliseconds of each trainee, stepping in turn (a, b, ..., a, b, ...) on one fixed
/// batch of 128 (Generator 1), after `warmup` untimed steps each: a busy spell on a shared machine
/// hits all of them.
inline std::vector<double> time_in_turn(const std::vector<Trainee*>& trainees, int steps, int warmup) {
  Generator gen(1);
  const Tensor x = randn({128, 1, 28, 28}, &gen);
  const Tensor y = randint(0, 10, {128}, &gen);
  for (int i = 0; i < warmup; ++i)
    for (Trainee* t : trainees) t->step(x, y);
  std::vector<std::vector<double>> ms(trainees.size());
  for (int i = 0; i < steps; ++i)
    for (std::size_t k = 0; k < trainees.size(); ++k) ms[k].push_back(trainees[k]->step(x, y));
  std::vector<double> out;
  for (auto& m : ms) out.push_back(median(std::move(m)));
  return out;
}

/// The command line of a paired timer: --models a,b --steps N --warmup N.
struct PairedOptions {
  std::vector<std::string> models;
  int steps = 20;
  int warmup = 3;
};

/// Parses `argv` into `options` (whose fields hold the defaults); false after printing
/// "<program>: ..." for a flag without a value or an unknown flag.
inline bool parse_paired_options(const char* program, int argc, char** argv, PairedOptions& options) {
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s: %s needs a value\n", program, flag.c_str());
      return false;
    }
    const std::string value = argv[i + 1];
    if (flag == "--models") {
      options.models.clear();
      std::stringstream ss(value);
      for (std::string n; std::getline(ss, n, ',');) options.models.push_back(n);
    } else if (flag == "--steps") {
      options.steps = std::stoi(value);
    } else if (flag == "--warmup") {
      options.warmup = std::stoi(value);
    } else {
      std::fprintf(stderr, "%s: unknown flag %s\n", program, flag.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace shrink::bench
