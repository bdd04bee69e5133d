#!/usr/bin/python3
"""How much float rounding in BatchNorm folding moves PyTorch's own PTQ accuracy: the eager-mode PTQ
of bench/ptq_vs_torch.py (onednn default qconfig, and MinMaxObserver activations) evaluated as its
float32 simulation (same qparams, fake-quantized), once with fuse_modules on the float32 model and
once on the model in float64 then cast to float32 (folded weights differing by about an ulp).
Prints each top-1 and how many test predictions change between the two foldings.

  /usr/bin/python3 bench/ptq_fold_rounding.py --weights vgg_small.h5 [--threads 2]
"""
import argparse
import sys

import numpy as np

import ptq_vs_torch as P


def simulated(weights, fold64, activation):
    import h5py
    import torch
    import torch.ao.quantization as tq
    sys.path.insert(0, P.REFERENCE)
    import models
    model = models.ZOO['vgg_small']()
    with h5py.File(weights, 'r') as f:
        model.load_state_dict({k: torch.from_numpy(np.asarray(f[k][()])) for k in f}, strict=False)
    model.eval()
    if fold64:
        model = model.double()
    fused = tq.fuse_modules(model, P.MODELS['vgg_small']['fuse'])
    if fold64:
        fused = fused.float()
    wrapped = torch.nn.Sequential(tq.QuantStub(), fused, tq.DeQuantStub()).eval()
    torch.backends.quantized.engine = 'onednn'
    qconfig = tq.get_default_qconfig('onednn')
    if activation == 'min_max':
        qconfig = tq.QConfig(activation=tq.MinMaxObserver.with_args(dtype=torch.quint8), weight=qconfig.weight)
    wrapped.qconfig = qconfig
    tq.prepare(wrapped, inplace=True)
    x, _ = P.images(True, 1000)
    with torch.no_grad():
        for i in range(0, len(x), 100):
            wrapped(torch.from_numpy(x[i:i + 100]))
    return P.simulate(wrapped, qconfig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--weights', required=True)
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    import torch
    torch.set_num_threads(a.threads)
    x, y = P.images(False)
    for activation in ('histogram', 'min_max'):
        predictions = []
        for fold64 in (False, True):
            m = simulated(a.weights, fold64, activation)
            with torch.no_grad():
                p = np.concatenate([m(torch.from_numpy(x[i:i + 500])).argmax(1).numpy() for i in range(0, len(x), 500)])
            predictions.append(p)
            print(f"{activation} act, folded in {'float64' if fold64 else 'float32'}: top-1 {100 * (p == y).mean():.2f}%",
                  flush=True)
        print(f'{activation} act: {int((predictions[0] != predictions[1]).sum())} test predictions differ')


if __name__ == '__main__':
    main()
