#pragma once
/// \file
/// The whole public API of Shrink in one include: `#include <shrink/shrink.h>`.
///
/// It brings in the autograd (Tensor, ops, the graph hooks, gradcheck), modules and layers,
/// optimizers and LR schedulers, the model zoo, HDF5 state_dict / masks / checkpoint / quantized files, the
/// data pipeline and the training metrics. Left out on purpose: `autograd/kernels/` (the
/// compute kernels; internal, and some are compiled for the library's own `-march`) except
/// thread_pool.h, which holds the user-facing wait policy of Shrink's threads; the io
/// layer's internal helpers (those that need <hdf5.h> or <zlib.h>, and the atomic-write
/// primitive) and headers that only declare `detail` namespaces.
/// tests/cmake/check_umbrella.sh fails if a public header is missing here.

// autograd: the Tensor handle, every differentiable op, the graph and its tools.
#include "autograd/dtype.h"
#include "autograd/error.h"
#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/hook_handle.h"
#include "autograd/kernels/thread_pool.h"  // WaitPolicy, set_wait_policy: how Shrink's threads wait
#include "autograd/node.h"
#include "autograd/ops.h"
#include "autograd/storage.h"
#include "autograd/tensor.h"
#include "autograd/warning.h"

// io: Shrink's HDF5 files, the data pipeline, training metrics.
#include "io/checkpoint.h"
#include "io/checkpoint_meta.h"
#include "io/data/dataloader.h"
#include "io/data/dataset.h"
#include "io/data/idx.h"
#include "io/data/sampling.h"
#include "io/data/transforms.h"
#include "io/file_format.h"
#include "io/json_reader.h"
#include "io/metrics.h"
#include "io/quantized_file.h"
#include "io/quantized_tensor.h"
#include "io/state_dict.h"
#include "io/state_dict_diff.h"
#include "io/state_dict_file.h"
#include "io/text_table.h"

// nn: modules and layers, optimizers and schedulers, checkpoints, the model zoo.
#include "nn/checkpoint.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/models/classic.h"
#include "nn/models/inception.h"
#include "nn/models/mobilenet.h"
#include "nn/models/registry.h"
#include "nn/models/resnet.h"
#include "nn/models/vgg.h"
#include "nn/module.h"
#include "nn/optim/adam.h"
#include "nn/optim/clip_grad.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/optimizer.h"
#include "nn/optim/rmsprop.h"
#include "nn/optim/sgd.h"

// compression: config_list, the pruners, counting, reports and sensitivity analysis.
#include "compression/analysis/counting.h"
#include "compression/analysis/report.h"
#include "compression/analysis/sensitivity.h"
#include "compression/config_list.h"
#include "compression/pruning/admm_pruner.h"
#include "compression/pruning/criteria.h"
#include "compression/pruning/dependency_groups.h"
#include "compression/pruning/layer_pruning.h"
#include "compression/pruning/movement_pruner.h"
#include "compression/pruning/pruner.h"
#include "compression/pruning/pruning_checkpoint.h"
#include "compression/pruning/registry.h"
#include "compression/pruning/scheduled_pruners.h"
#include "compression/pruning/weight_pruners.h"
#include "compression/pruning/statistics.h"
#include "compression/pruning/slim_pruner.h"
#include "compression/pruning/taylor_pruner.h"
#include "compression/pruning/activation_pruners.h"

// compression/quantization: fake quantization, qparams, observers, quantizers.
#include "compression/quantization/bnn_quantizer.h"
#include "compression/quantization/dorefa_quantizer.h"
#include "compression/quantization/fake_quant.h"
#include "compression/quantization/fake_quant_paddle.h"
#include "compression/quantization/lsq_quantizer.h"
#include "compression/quantization/naive_quantizer.h"
#include "compression/quantization/observer_histogram.h"
#include "compression/quantization/observer_registry.h"
#include "compression/quantization/observers.h"
#include "compression/quantization/observers_paddle.h"
#include "compression/quantization/observers_search.h"
#include "compression/quantization/qparams.h"
#include "compression/quantization/ptq_quantizer.h"
#include "compression/quantization/qat_quantizer.h"
#include "compression/quantization/quantizer.h"
#include "compression/quantization/quantizer_registry.h"

// compression/distillation: the KD, L2-feature and FSP losses and the Distiller.
#include "compression/distillation/distill_config.h"
#include "compression/distillation/distiller.h"
#include "compression/distillation/losses.h"

// speedup: trace to a graph IR, run it, save and load it as a model file, channel groups, and shrink pruned
// models.
#include "speedup/batchnorm_masks.h"
#include "speedup/channel_groups.h"
#include "speedup/conv_bn_pairs.h"
#include "speedup/fold_batchnorm.h"
#include "speedup/functional_ops.h"
#include "speedup/graph.h"
#include "speedup/graph_module.h"
#include "speedup/inference_fusion.h"
#include "speedup/mask_resolution.h"
#include "speedup/model_file.h"
#include "speedup/model_speedup.h"
#include "speedup/per_sample.h"
#include "speedup/module_factory.h"
#include "speedup/shrink_layers.h"
#include "speedup/speedup_report.h"
#include "speedup/trace.h"

// pipeline: a compression pipeline file (train, prune, distill, quantize, speedup, export stages),
// its runner with checkpoints and resume, the run's record, its summary table and HTML report.
#include "pipeline/html_report.h"
#include "pipeline/markup.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/run_record.h"
#include "pipeline/runner.h"
#include "pipeline/summary_table.h"
#include "pipeline/svg_chart.h"
