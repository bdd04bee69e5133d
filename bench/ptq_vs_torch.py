#!/usr/bin/python3
"""Post-training int8 quantization side by side: the same trained float weights, the same 1,000
calibration images (the first of Fashion-MNIST's training set, no augmentation), the 10,000 test
images, through PyTorch's eager-mode PTQ (Debian's python3-torch 1.13) and through Shrink's
PTQQuantizer (bench/ptq_accuracy) with the equivalent observers and with every other observer.

  /usr/bin/python3 bench/ptq_vs_torch.py build/bench/ptq_accuracy --weights vgg_small.h5
                                         [--model vgg_small] [--threads 2] [--calibration-images 1000]

PyTorch: the zoo model of tests/reference/models.py with the HDF5 state_dict loaded, eval mode,
conv-bn-relu fused (torch.ao.quantization.fuse_modules: the BatchNorm folded into the conv), wrapped
in QuantStub / DeQuantStub, `get_default_qconfig('onednn')` with torch.backends.quantized.engine =
'onednn' (the engine this build has besides qnnpack; its qconfig quantizes activations on the full
uint8 range, no reduce_range): activations per tensor, affine, quint8 [0, 255], HistogramObserver;
weights per channel, symmetric, qint8 [-128, 127], PerChannelMinMaxObserver. prepare, calibrate,
convert, then the int8 model (quantized::conv2d_relu / linear on onednn) is evaluated. Where it
quantizes activations: the QuantStub's output (the image), the output of every fused block (after
its ReLU, before any max pool: pooling a quantized tensor keeps its qparams) and the output of the
last Linear (the logits). A second PyTorch row uses MinMaxObserver (quint8) for the activations.

Shrink: the closest config_list ("equivalent"): on every Conv2d and Linear the weight per channel,
symmetric, int8 [-128, 127] (int_full) with min_max, and the input per tensor, affine, uint8
[0, 255] with `histogram` (PyTorch's HistogramObserver); the last Linear also quantizes its output
(the logits). Shrink's quantizers select Conv2d and Linear only, so an activation is quantized at
the input of the next Conv2d/Linear. For vgg_small these are the same tensors as PyTorch's except
after the three max pools: Shrink observes the pooled tensor, PyTorch the tensor before the pool
(the same values are then quantized — max pooling commutes with a monotone quantization — but the
observers see different statistics). The weight of Shrink's convs is quantized before the
BatchNorm, PyTorch's after folding it in: per channel and symmetric, the grid scales with the
channel, so the integers are the same up to float rounding. PyTorch computes in integers (int32
accumulation, the bias added in float and requantized by onednn), Shrink simulates in float32.
Then Shrink on PyTorch's quantization points ("PyTorch's points": the BatchNorms folded first, the
model input, every fused block's ReLU output and the logits quantized, as PyTorch does) with
several activation observers, among them `histogram_torch113` (PyTorch 1.13's histogram range),
and Shrink on those points frozen at PyTorch's own calibrated qparams (load_calibration_config):
that row leaves only the arithmetic (folding, float vs int8 kernels) between the two sides.
Then every other observer for the activations (Paddle's abs_max family is symmetric and signed by
definition: those rows quantize activations per tensor, symmetric, int8 [-128, 127]), and weight
observers other than min_max with histogram activations.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import side_by_side
import torch_baseline

REFERENCE = os.path.join(side_by_side.HERE, '..', 'tests', 'reference')
DATA = '/usr/share/datasets/fashion-mnist'
MEAN, STD = np.float32(0.2860), np.float32(0.3530)  # examples/fmnist.h

# Per model: the modules fused by fuse_modules (conv-bn-relu, conv-relu, linear-relu) and the last
# Linear, whose output PyTorch quantizes.
# 'weighted': every Conv2d and Linear (with its folded BatchNorm), whose weight both sides quantize.
MODELS = {
    'vgg_small': {'fuse': [[f'features.{i}', f'features.{i + 1}', f'features.{i + 2}'] for i in (0, 3, 7, 10, 14, 17)],
                  'last': 'classifier',
                  'weighted': [f'features.{i}' for i in (0, 3, 7, 10, 14, 17)] + ['classifier']},
    'naive': {'fuse': [['conv1', 'relu1'], ['conv2', 'relu2'], ['fc1', 'relu3']], 'last': 'fc2',
              'weighted': ['conv1', 'conv2', 'fc1', 'fc2']},
}

ACTIVATION_OBSERVERS = ['histogram', 'min_max', 'moving_average_min_max', 'percentile', 'mse']
PADDLE_ACTIVATION_OBSERVERS = ['abs_max', 'range_abs_max', 'moving_average_abs_max']
WEIGHT_OBSERVERS = ['mse', 'percentile', 'channel_wise_abs_max']
PLACEMENT_OBSERVERS = ['histogram', 'histogram_torch113', 'min_max', 'moving_average_min_max']


def images(train, n=0):
    """Fashion-MNIST images normalised as examples/fmnist.h ((x/255 − mean)/std in float32) and labels."""
    prefix = 'train' if train else 't10k'
    with gzip.open(os.path.join(DATA, f'{prefix}-images-idx3-ubyte.gz')) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(DATA, f'{prefix}-labels-idx1-ubyte.gz')) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    if n:
        x, y = x[:n], y[:n]
    return (x.astype(np.float32) / np.float32(255) - MEAN) / STD, y


def shrink_configs(model):
    """[{'name', 'config_list'}]: the equivalent config, then the other observers."""
    def dicts(act_observer, weight_observer='min_max', act_scheme='per_tensor_affine', act_dtype='uint',
              logits=True):
        settings = {'quant_bits': 8,
                    'quant_scheme': {'weight': 'per_channel_symmetric', 'input': act_scheme, 'output': act_scheme},
                    'quant_dtype': {'weight': 'int_full', 'input': act_dtype, 'output': act_dtype},
                    'observer': {'weight': weight_observer, 'input': act_observer, 'output': act_observer}}
        out = [dict(op_types=['Conv2d', 'Linear'], quant_types=['weight', 'input'], **settings)]
        if logits:  # a later dict wins for the layers it selects
            out.append(dict(op_names=[MODELS[model]['last']], quant_types=['weight', 'input', 'output'], **settings))
        return out

    configs = [{'name': 'equivalent: histogram act, min_max weight', 'config_list': dicts('histogram')},
               {'name': 'same, logits not quantized', 'config_list': dicts('histogram', logits=False)}]
    for o in ACTIVATION_OBSERVERS[1:]:
        configs.append({'name': f'{o} act', 'config_list': dicts(o)})
    for o in PADDLE_ACTIVATION_OBSERVERS:
        configs.append({'name': f'{o} act (symmetric int8)',
                        'config_list': dicts(o, act_scheme='per_tensor_symmetric', act_dtype='int_full')})
    for o in WEIGHT_OBSERVERS:
        configs.append({'name': f'histogram act, {o} weight', 'config_list': dicts('histogram', weight_observer=o)})
    for o in PLACEMENT_OBSERVERS:
        configs.append({'name': f'PyTorch\'s points, {o} act', 'fold_batchnorm': True,
                        'config_list': torch_points(model, o)})
    return configs


def torch_points(model, act_observer):
    """The config_list that quantizes what PyTorch's fused model quantizes, on the model with its
    BatchNorms folded (bench/ptq_accuracy's "fold_batchnorm"): the model input (on the first
    layer), the output of every fused block (its last module: the ReLU), the logits, and the weight
    of every Conv2d and Linear (per channel, symmetric, int8, min_max)."""
    m = MODELS[model]
    settings = {'quant_bits': 8,
                'quant_scheme': {'weight': 'per_channel_symmetric', 'input': 'per_tensor_affine',
                                 'output': 'per_tensor_affine'},
                'quant_dtype': {'weight': 'int_full', 'input': 'uint', 'output': 'uint'},
                'observer': {'weight': 'min_max', 'input': act_observer, 'output': act_observer}}
    first, outputs = m['weighted'][0], [g[-1] for g in m['fuse']] + [m['last']]
    out = []
    for layer in m['weighted']:
        types = ['weight'] + (['input'] if layer == first else []) + (['output'] if layer in outputs else [])
        out.append(dict(op_names=[layer], quant_types=types, **settings))
    for layer in outputs:
        if layer not in m['weighted']:
            out.append(dict(op_names=[layer], quant_types=['output'], **settings))
    return out


def torch_qparams(model, prepared, qconfig):
    """PyTorch's calibrated qparams as the calibration_config of torch_points(model, ...): per
    layer, the scale and zero point of each observer (the QuantStub's as the first layer's input,
    a fused block's as its last module's output) and the per-channel weight scales of each fused
    Conv2d / Linear."""
    import torch
    m = MODELS[model]
    owner = {'0': (m['weighted'][0], 'input'), f"1.{m['last']}": (m['last'], 'output')}
    owner.update({f'1.{g[0]}': (g[-1], 'output') for g in m['fuse']})
    config = {}
    for name, module in prepared.named_modules():
        if hasattr(module, 'activation_post_process') and name in owner:
            layer, t = owner[name]
            scale, zp = module.activation_post_process.calculate_qparams()
            config.setdefault(layer, {}).update({f'{t}_bits': 8, f'{t}_quant_scheme': 'per_tensor_affine',
                                                 f'{t}_quant_dtype': 'uint', f'{t}_scale': float(scale),
                                                 f'{t}_zero_point': float(zp)})
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            layer = name[2:]  # '1.features.0.0' (the conv of a fused block) or '1.classifier'
            if layer not in m['weighted']:
                layer = layer.rsplit('.', 1)[0]
            observer = qconfig.weight()
            observer(module.weight.detach())
            scale, zp = observer.calculate_qparams()
            config.setdefault(layer, {}).update({'weight_bits': 8, 'weight_quant_scheme': 'per_channel_symmetric',
                                                 'weight_quant_dtype': 'int_full',
                                                 'weight_scale': [float(v) for v in scale],
                                                 'weight_zero_point': [float(v) for v in zp]})
    return config


def simulate(prepared, qconfig):
    """The calibrated (prepared, not converted) model computing in float32 with the qparams convert()
    would use: each weight fake-quantized per channel with its observer's qparams, each observed
    activation fake-quantized with its observer's — what Shrink's PTQ computes, on PyTorch's
    placement. Set apart from the converted model, it separates the int8 kernels from the rest."""
    import torch

    class Fixed(torch.nn.Module):
        def __init__(self, observer):
            super().__init__()
            scale, zp = observer.calculate_qparams()
            self.q = (float(scale), int(zp), observer.quant_min, observer.quant_max)

        def forward(self, x):
            return torch.fake_quantize_per_tensor_affine(x, *self.q)

    for m in list(prepared.modules()):
        if hasattr(m, 'activation_post_process'):
            m.activation_post_process = Fixed(m.activation_post_process)
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            observer = qconfig.weight()
            observer(m.weight.detach())
            scale, zp = observer.calculate_qparams()
            m.weight.data = torch.fake_quantize_per_channel_affine(
                m.weight.detach(), scale.float(), zp.to(torch.int32), observer.ch_axis, observer.quant_min,
                observer.quant_max)
    return prepared


def torch_ptq(model_name, weights, calibration_images, test_limit, engine, activation_observer=None):
    """Top-1 of the float model, of PyTorch's converted int8 model and of its float32 simulation, and
    PyTorch's qparams as a Shrink calibration_config (torch_qparams)."""
    import copy
    import h5py
    import torch
    import torch.ao.quantization as tq
    sys.path.insert(0, REFERENCE)
    import models

    def top1(m, x, y):
        with torch.no_grad():
            correct = sum(int((m(torch.from_numpy(x[i:i + 500])).argmax(1).numpy() == y[i:i + 500]).sum())
                          for i in range(0, len(x), 500))
        return correct / len(x)

    model = models.ZOO[model_name]()
    with h5py.File(weights, 'r') as f:
        state = {k: torch.from_numpy(np.asarray(f[k][()])) for k in f}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]
    if missing or unexpected:
        raise SystemExit(f'{weights}: expected the state_dict of {model_name}, missing {missing}, unexpected {unexpected}')
    model.eval()
    x_test, y_test = images(False, test_limit)
    float_top1 = top1(model, x_test, y_test)

    torch.backends.quantized.engine = engine
    fused = tq.fuse_modules(model, MODELS[model_name]['fuse']) if MODELS[model_name]['fuse'] else model
    wrapped = torch.nn.Sequential(tq.QuantStub(), fused, tq.DeQuantStub()).eval()
    qconfig = tq.get_default_qconfig(engine)
    if activation_observer is not None:
        qconfig = tq.QConfig(activation=activation_observer, weight=qconfig.weight)
    wrapped.qconfig = qconfig
    tq.prepare(wrapped, inplace=True)
    x_cal, _ = images(True, calibration_images)
    with torch.no_grad():
        for i in range(0, len(x_cal), 100):
            wrapped(torch.from_numpy(x_cal[i:i + 100]))
    qparams = torch_qparams(model_name, wrapped, qconfig)
    simulated = simulate(copy.deepcopy(wrapped), qconfig)
    tq.convert(wrapped, inplace=True)
    return float_top1, top1(wrapped, x_test, y_test), top1(simulated, x_test, y_test), qparams


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('ptq_accuracy')
    ap.add_argument('--weights', required=True)
    ap.add_argument('--model', default='vgg_small', choices=sorted(MODELS))
    ap.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS', os.cpu_count())))
    ap.add_argument('--calibration-images', type=int, default=1000)
    ap.add_argument('--engine', default='onednn')
    ap.add_argument('--test-limit', type=int, default=0, help='evaluate on the first N test images (0: all 10,000)')
    a = ap.parse_args()
    torch_baseline.set_threads(a.threads)
    import torch
    import torch.ao.quantization as tq
    torch.set_num_threads(a.threads)
    print(f'load average before: {side_by_side.loadavg()}', flush=True)

    t_float, t_hist, t_hist_sim, hist_qparams = torch_ptq(a.model, a.weights, a.calibration_images, a.test_limit,
                                                          a.engine)
    _, t_minmax, t_minmax_sim, minmax_qparams = torch_ptq(a.model, a.weights, a.calibration_images, a.test_limit,
                                                          a.engine, tq.MinMaxObserver.with_args(dtype=torch.quint8))
    configs = shrink_configs(a.model)
    # Shrink frozen at PyTorch's own qparams, on PyTorch's points: what is left is the arithmetic.
    for name, qparams in [("PyTorch's points and PyTorch's default-qconfig qparams", hist_qparams),
                          ("PyTorch's points and PyTorch's MinMaxObserver qparams", minmax_qparams)]:
        configs.append({'name': name, 'fold_batchnorm': True, 'config_list': torch_points(a.model, 'min_max'),
                        'calibration_config': qparams})
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'configs.json')
        with open(path, 'w') as f:
            json.dump(configs, f)
        shrink = side_by_side.json_lines([a.ptq_accuracy, '--model', a.model, '--weights', a.weights, '--configs', path,
                                          '--calibration-images', str(a.calibration_images),
                                          '--test-limit', str(a.test_limit)], torch_baseline.thread_env(a.threads))
    print(f'load average after: {side_by_side.loadavg()}')

    s_float = shrink[0]['top1']
    print(f"{a.model}, {a.weights}: {shrink[0]['calibration_images']} calibration images, {shrink[0]['test_images']} "
          f"test images; PyTorch {torch.__version__} engine {a.engine}")
    print('| side | config | top-1 % | vs its float | vs PyTorch int8 (default qconfig) |')
    print('| --- | --- | --- | --- | --- |')
    print(f'| PyTorch | float | {100 * t_float:.2f} | | |')
    print(f'| Shrink | float | {100 * s_float:.2f} | | |')
    print(f'| PyTorch | int8, default qconfig: HistogramObserver act, PerChannelMinMaxObserver weight | '
          f'{100 * t_hist:.2f} | {100 * (t_hist - t_float):+.2f} | |')
    print(f'| PyTorch | int8, MinMaxObserver act, PerChannelMinMaxObserver weight | {100 * t_minmax:.2f} | '
          f'{100 * (t_minmax - t_float):+.2f} | {100 * (t_minmax - t_hist):+.2f} |')
    print(f'| PyTorch | float32 simulation of the default qconfig (same qparams, fake-quantized) | '
          f'{100 * t_hist_sim:.2f} | {100 * (t_hist_sim - t_float):+.2f} | {100 * (t_hist_sim - t_hist):+.2f} |')
    print(f'| PyTorch | float32 simulation of the MinMaxObserver qconfig | {100 * t_minmax_sim:.2f} | '
          f'{100 * (t_minmax_sim - t_float):+.2f} | {100 * (t_minmax_sim - t_hist):+.2f} |')
    for row in shrink[1:]:
        if 'error' in row:
            print(f"| Shrink | {row['name']} | error: {row['error']} | | |")
        else:
            print(f"| Shrink | {row['name']} | {100 * row['top1']:.2f} | {100 * (row['top1'] - s_float):+.2f} | "
                  f"{100 * (row['top1'] - t_hist):+.2f} |")

if __name__ == '__main__':
    main()
