// Times quantization-aware training in Shrink: a zoo model trained dense (float) and the same model
// under QATQuantizer with the config of examples/configs/qat_vgg_int8.json — on every Conv2d and
// Linear, the weight fake-quantized per channel, symmetric, int8 [-128, 127] from its current range
// at every forward, and the input per tensor, affine, uint8 [0, 255] with a moving-average min-max
// observer (constant 0.01). Batch 128, SGD with momentum 0.9, forward + backward + step (+ the
// quantizer's step()). For a model with Conv2d → BatchNorm2d pairs, a third copy is trained with
// the same config and Conv-BN folding (QATOptions::fold_bn from speedup::conv_bn_pairs: the weight
// fake-quantized after folding the BatchNorm's scale in, as PyTorch's qat.ConvBnReLU2d does). The
// copies step in turn (dense, qat, [qat folded,] dense, ...) so that a busy spell on a shared
// machine hits all; each figure is the median step time. Prints one JSON object per model and
// line, read by bench/qat_vs_torch.py ("qat_fold_step_ms" and "qat_fold_ips" only when folded).
//
//   qat_timing [--models vgg_small,naive] [--steps 20] [--warmup 3]
#include <cstdio>
#include <memory>
#include <string>

#include "bench/paired_training.h"
#include "compression/quantization/qat_quantizer.h"
#include "speedup/conv_bn_pairs.h"

using namespace shrink;

namespace {

/// examples/configs/qat_vgg_int8.json.
constexpr const char* kConfig = R"([{"op_types": ["Conv2d", "Linear"], "quant_types": ["weight", "input"],
  "quant_bits": 8, "quant_scheme": {"weight": "per_channel_symmetric", "input": "per_tensor_affine"},
  "quant_dtype": {"weight": "int_full", "input": "uint"}}])";

/// How many weights and inputs the quantizer fake-quantized in the last forward (each has qparams
/// once it was quantized): the benchmark must time a working quantizer.
std::pair<std::size_t, std::size_t> quantized_tensors(const compression::Quantizer& q) {
  std::size_t weights = 0, inputs = 0;
  for (const auto& layer : q.layers()) {
    weights += layer->qparams[0].has_value();
    inputs += layer->qparams[1].has_value();
  }
  return {weights, inputs};
}

}  // namespace

int main(int argc, char** argv) {
  bench::PairedOptions options{.models = {"vgg_small", "naive"}};
  if (!bench::parse_paired_options("qat_timing", argc, argv, options)) return 2;
  for (const auto& name : options.models) {
    const auto config = compression::ConfigList::parse(kConfig);
    bench::Trainee dense(name), qat(name), folded(name);
    compression::QATQuantizer quantizer(qat.model, config);
    quantizer.compress();  // after the optimizer was built, as a user would
    qat.after_step = [&] { quantizer.step(); };
    const compression::QATOptions fold{speedup::conv_bn_pairs(*folded.model, zeros({1, 1, 28, 28}))};
    compression::QATQuantizer fold_quantizer(folded.model, config, fold);
    std::vector<bench::Trainee*> trainees = {&dense, &qat};
    if (!fold.fold_bn.empty()) {
      fold_quantizer.compress();
      folded.after_step = [&] { fold_quantizer.step(); };
      trainees.push_back(&folded);
    }
    const std::vector<double> ms = bench::time_in_turn(trainees, options.steps, options.warmup);
    for (const compression::Quantizer* q : {&quantizer, &fold_quantizer}) {
      if (!q->is_compressed()) continue;
      const std::size_t layers = q->layers().size();
      const auto [weights, inputs] = quantized_tensors(*q);
      if (layers == 0 || weights != layers || inputs != layers) {
        std::fprintf(stderr,
                     "qat_timing: %s: expected the weight and input of %zu layers fake-quantized, got %zu and %zu\n",
                     name.c_str(), layers, weights, inputs);
        return 1;
      }
    }
    const auto [weights, inputs] = quantized_tensors(quantizer);
    std::string fold_fields;
    if (ms.size() == 3) {
      char buf[160];
      std::snprintf(buf, sizeof buf, ", \"qat_fold_step_ms\": %.3f, \"qat_fold_ips\": %.1f, \"folded_pairs\": %zu",
                    ms[2], 128e3 / ms[2], fold.fold_bn.size());
      fold_fields = buf;
    }
    std::printf("{\"model\": \"%s\", \"dense_step_ms\": %.3f, \"qat_step_ms\": %.3f, \"dense_ips\": %.1f, "
                "\"qat_ips\": %.1f, \"fake_quant_weights\": %zu, \"fake_quant_activations\": %zu%s}\n",
                name.c_str(), ms[0], ms[1], 128e3 / ms[0], 128e3 / ms[1], weights, inputs, fold_fields.c_str());
    std::fflush(stdout);
  }
  return 0;
}
