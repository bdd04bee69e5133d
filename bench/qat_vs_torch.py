#!/usr/bin/python3
"""Quantization-aware training side by side: Shrink (bench/qat_timing: QATQuantizer with the config
of examples/configs/qat_vgg_int8.json) and PyTorch (Debian's python3-torch 1.13, eager mode
`prepare_qat` with `get_default_qat_qconfig('onednn')`), the same zoo model (tests/reference/models.py),
same thread count (OMP_NUM_THREADS and OPENBLAS_NUM_THREADS), batch 128, SGD momentum 0.9.

  /usr/bin/python3 bench/qat_vs_torch.py build/bench/qat_timing [--threads 2]
                                         [--models vgg_small,naive] [--rounds 3] [--steps 20]

What each side fake-quantizes (8 bits everywhere):
- Shrink: on every Conv2d and Linear, the weight (per channel along axis 0, symmetric, int8
  [-128, 127], qparams from the weight's current min/max at every forward) and the input (per
  tensor, affine, uint8 [0, 255], moving-average min-max observer with constant 0.01). BatchNorm
  stays a separate float layer (no folding). vgg_small: 7 weights + 7 inputs; naive: 4 + 4.
- PyTorch: the model wrapped in QuantStub / DeQuantStub, conv-bn-relu fused where the model allows
  (vgg_small: the six Conv2d-BatchNorm2d-ReLU triples become qat.ConvBnReLU2d, which folds the
  BatchNorm's scale into the weight before fake-quantizing it and computes batch statistics;
  naive: conv-relu ×2 and linear-relu). `get_default_qat_qconfig('onednn')`: weights per channel,
  symmetric, qint8 [-128, 127] with a moving-average per-channel min-max observer
  (FusedMovingAvgObsFakeQuantize); activations per tensor, affine, quint8 [0, 255] with a
  moving-average min-max observer (0.01), no reduce_range — the outputs of the QuantStub and of
  every fused block and Linear. vgg_small: 7 weights + 8 activations; naive: 4 + 5.
'onednn' because it is the quantized engine this build has (torch.backends.quantized.supported_engines
is qnnpack and onednn: no fbgemm) and because its qconfig uses the full uint8 range for
activations, as Shrink's config does ('fbgemm'/'x86' reduce activations to 7 bits).

Each side trains a dense (float, unfused, unquantized) and a QAT copy of the model in one process,
one step each in turn, and reports the median step time of each; "extra" is qat / dense − 1 within
a round (the cost of QAT per step). For a model with Conv2d → BatchNorm2d pairs (vgg_small), Shrink
also trains a third copy with Conv-BN folding (QATOptions::fold_bn), which fake-quantizes the
folded weight as PyTorch's qat.ConvBnReLU2d does: column "folded", ratio "folded S/T". The sides run in fresh processes alternating model by model for
--rounds rounds (bench/side_by_side.py); every figure is the median over rounds. "QAT S/T" is Shrink
QAT images/s over PyTorch QAT images/s (> 1: Shrink is faster).
"""
import argparse
import json
import os
import sys

import side_by_side

REFERENCE = os.path.join(side_by_side.HERE, '..', 'tests', 'reference')

# Modules fused by torch.ao.quantization.fuse_modules_qat, per model.
FUSE = {
    'vgg_small': [[f'features.{i}', f'features.{i + 1}', f'features.{i + 2}'] for i in (0, 3, 7, 10, 14, 17)],
    'naive': [['conv1', 'relu1'], ['conv2', 'relu2'], ['fc1', 'relu3']],
    'lenet5': [],
    'mlp': [],
}


def torch_qat_model(name, engine='onednn'):
    """The zoo model wrapped in QuantStub / DeQuantStub, fused and prepared for QAT (train mode)."""
    import torch
    import torch.ao.quantization as tq
    sys.path.insert(0, REFERENCE)
    import models
    torch.backends.quantized.engine = engine

    class Quantized(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.quant, self.model, self.dequant = tq.QuantStub(), model, tq.DeQuantStub()

        def forward(self, x):
            return self.dequant(self.model(self.quant(x)))

    model = models.ZOO[name]()
    model.train()
    if FUSE[name]:
        model = tq.fuse_modules_qat(model, FUSE[name])
    wrapped = Quantized(model)
    wrapped.qconfig = tq.get_default_qat_qconfig(engine)
    tq.prepare_qat(wrapped, inplace=True)
    return wrapped


def fake_quant_counts(model):
    import torch.ao.quantization as tq
    weights = activations = 0
    for name, m in model.named_modules():
        if isinstance(m, tq.FakeQuantizeBase):
            if name.endswith('weight_fake_quant'):
                weights += 1
            else:
                activations += 1
    return weights, activations


def torch_worker(name, threads, steps, warmup):
    import torch
    sys.path.insert(0, REFERENCE)
    import models
    torch.set_num_threads(threads)

    def trainee(qat):
        torch.manual_seed(0)
        m = torch_qat_model(name) if qat else models.ZOO[name]()
        m.train()
        return m, torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)  # after prepare_qat, which swaps modules

    dense, qat = trainee(False), trainee(True)
    d, q = side_by_side.torch_time_in_turn(dense, qat, steps, warmup)
    weights, activations = fake_quant_counts(qat[0])
    print(json.dumps({'model': name, 'dense_step_ms': d, 'qat_step_ms': q, 'dense_ips': 128e3 / d,
                      'qat_ips': 128e3 / q, 'fake_quant_weights': weights, 'fake_quant_activations': activations}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('qat_timing', nargs='?')
    ap.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS', os.cpu_count())))
    ap.add_argument('--models', default='vgg_small,naive')
    ap.add_argument('--rounds', type=int, default=1)
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--torch-worker')
    a = ap.parse_args()
    if a.torch_worker:
        torch_worker(a.torch_worker, a.threads, a.steps, a.warmup)
        return
    if not a.qat_timing:
        ap.error('the path to the qat_timing executable is required')
    names = a.models.split(',')
    for name in names:
        if name not in FUSE:
            ap.error(f'--models: expected names from {", ".join(FUSE)}, got {name!r}')
    env = side_by_side.start(a.threads)
    common = ['--steps', str(a.steps), '--warmup', str(a.warmup)]
    runs = side_by_side.alternate(names, a.rounds, {
        'shrink': lambda name: [a.qat_timing, '--models', name] + common,
        'torch': lambda name: [sys.executable, __file__, '--torch-worker', name, '--threads', str(a.threads)] + common,
    }, env)
    print(f'threads={a.threads}  batch 128, SGD(momentum 0.9), int8 QAT (weights per-channel symmetric, activations '
          f'per-tensor affine uint8); median step of {a.steps} (after {a.warmup} warm-up), median of {a.rounds} '
          'alternating round(s)')
    print(f"{'model':<12}{'Shrink img/s dense | qat | folded':>36}{'extra':>8}{'PyTorch img/s dense | qat':>28}"
          f"{'extra':>8}{'QAT S/T':>9}{'folded S/T':>12}{'dense S/T':>11}{'fake-quant w+a S | T':>22}")
    for name in names:
        s, t = runs[name]['shrink'], runs[name]['torch']
        extra_s = 100 * (side_by_side.median_ratio(s, 'qat_step_ms', 'dense_step_ms') - 1)
        extra_t = 100 * (side_by_side.median_ratio(t, 'qat_step_ms', 'dense_step_ms') - 1)
        sq, tq_ = side_by_side.median(s, 'qat_ips'), side_by_side.median(t, 'qat_ips')
        sd, td = side_by_side.median(s, 'dense_ips'), side_by_side.median(t, 'dense_ips')
        folded = all('qat_fold_ips' in r for r in s)
        sf = side_by_side.median(s, 'qat_fold_ips') if folded else None
        counts = (f"{s[0]['fake_quant_weights']}+{s[0]['fake_quant_activations']} | "
                  f"{t[0]['fake_quant_weights']}+{t[0]['fake_quant_activations']}")
        print(f"{name:<12}{sd:>14.0f} | {sq:<5.0f} | {(f'{sf:.0f}' if folded else '-'):<7}{extra_s:>+7.1f}%"
              f"{td:>16.0f} | {tq_:<9.0f}{extra_t:>+7.1f}%{sq / tq_:>9.2f}"
              f"{(f'{sf / tq_:.2f}' if folded else '-'):>12}{sd / td:>11.2f}{counts:>22}")

if __name__ == '__main__':
    main()
