// shrink bench: forward latency and throughput of a model (a model file, or a zoo model with
// optional weights) on random inputs of its input shape, per batch size, in eval mode without grad.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <omp.h>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "cli/model_args.h"
#include "io/text_table.h"
#include "speedup/graph_module.h"

namespace shrink::cli {
namespace {

struct BenchArgs {
  std::string file;
  ModelArgs model;
  std::vector<std::int64_t> batch_sizes = {1, 32, 128};
  int repeats = 20;
};

/// The `q`-quantile (0..1) of `v` by the nearest rank.
double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(k, v.size() - 1)];
}

void run_bench(BenchArgs args) {
  if (args.file.empty() == args.model.model.empty())
    throw ValueError(std::string("expected a model file or --model <zoo>, got ") + (args.file.empty() ? "neither" : "both"));
  if (!args.file.empty() && !args.model.weights.empty())
    throw ValueError("--weights: expected --model <zoo> (a model file holds its weights), got a model file");
  if (!args.file.empty()) args.model.model = args.file;
  nn::ModulePtr model = load_model(args.model, /*allow_model_file=*/true);
  Shape input = kImageShape;
  if (const auto* graph_module = dynamic_cast<const speedup::GraphModule*>(model.get()))
    input = graph_module->graph().nodes.at(0).shape;

  NoGradGuard no_grad;
  model->eval();
  Generator generator(0);
  std::vector<std::vector<std::string>> rows = {{"batch", "median ms", "p90 ms", "images/s"}};
  for (const std::int64_t batch : args.batch_sizes) {
    input[0] = batch;
    const Tensor x = randn(input, &generator);
    (*model)(x);  // warm-up
    std::vector<double> ms;
    for (int r = 0; r < args.repeats; ++r) {
      const auto start = std::chrono::steady_clock::now();
      (*model)(x);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    const double median = quantile(ms, 0.5);
    rows.push_back({std::to_string(batch), format("%.3f", median), format("%.3f", quantile(ms, 0.9)),
                    io::grouped(static_cast<std::int64_t>(static_cast<double>(batch) * 1000.0 / median + 0.5))});
  }
  input[0] = 1;
  std::printf("%s%s%s: input %s, %d timed forwards per batch size after one warm-up, %d threads\n",
              args.model.model.c_str(), args.model.weights.empty() ? "" : " with ", args.model.weights.c_str(),
              shape_str(input).c_str(), args.repeats, omp_get_max_threads());
  std::fputs(io::text_table(rows, {io::Align::Right, io::Align::Right, io::Align::Right, io::Align::Right}).c_str(),
             stdout);
}

}  // namespace

Command add_bench_command(CLI::App& shrink) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* app = shrink.add_subcommand(
      "bench", "Forward latency (median, p90) and throughput (images/s) of a model per batch size");
  app->add_option("file", args->file, "A model file (shrink speedup writes one); or use --model")->check(existing_file());
  add_model_options(*app, args->model, /*allow_model_file=*/false, /*model_required=*/false);
  app->add_option("--batch-sizes", args->batch_sizes, "Batch sizes to time")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(positive())
      ->capture_default_str();
  app->add_option("--repeats", args->repeats, "Timed forwards per batch size")->check(positive())->capture_default_str();
  return {app, [args] { run_bench(*args); }};
}

}  // namespace shrink::cli
