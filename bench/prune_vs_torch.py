#!/usr/bin/python3
"""Masked training side by side: Shrink (bench/prune_timing: L1NormPruner at 0.5 on every Conv2d,
masks as parametrizations) and PyTorch (Debian's python3-torch, the zoo of tests/reference/models.py
with torch.nn.utils.prune.ln_structured(n=1, dim=0, amount=0.5) on every Conv2d, which
reparametrizes weight = weight_orig * weight_mask in a forward pre-hook), same thread count
(OMP_NUM_THREADS and OPENBLAS_NUM_THREADS), batch 128, SGD momentum 0.9.

  /usr/bin/python3 bench/prune_vs_torch.py build/bench/prune_timing [--threads 2]
                                           [--models vgg_small,resnet20] [--rounds 3] [--steps 20]

Each side trains a dense and a masked copy of a model in one process, one step each in turn, and
reports the median step time of each; so "masked vs dense" compares steps taken in the same
moments. The two sides run in fresh processes that alternate model by model for --rounds rounds,
and every figure is the median over rounds, so that a busy spell on a shared machine hits both.
Printed: images/s dense and masked on each side, the extra cost of masking per step on each side
(masked / dense − 1 within a round, median over rounds), and Shrink masked / PyTorch masked (> 1 means Shrink is faster). Shrink also
masks the bias of pruned filters (bias * bias_mask); torch's ln_structured masks the weight only.

The load average before and after the run is printed: it says how busy the machine was. The script
prints the BLAS torch loaded and refuses netlib's reference BLAS (torch_baseline.py); the rounds,
baseline check and load average are bench/side_by_side.py's.
"""
import argparse
import json
import os
import statistics
import sys

import side_by_side

REFERENCE = os.path.join(side_by_side.HERE, '..', 'tests', 'reference')
METRICS = ('dense_step_ms', 'masked_step_ms', 'dense_ips', 'masked_ips')


def torch_worker(name, threads, steps, warmup):
    import torch
    import torch.nn.utils.prune as prune
    sys.path.insert(0, REFERENCE)
    import models
    torch.set_num_threads(threads)

    def trainee(masked):
        torch.manual_seed(0)
        m = models.ZOO[name]()
        if masked:
            for module in m.modules():
                if isinstance(module, torch.nn.Conv2d):
                    prune.ln_structured(module, 'weight', amount=0.5, n=1, dim=0)
        m.train()
        return m, torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)

    dense, masked = trainee(False), trainee(True)
    d, m = side_by_side.torch_time_in_turn(dense, masked, steps, warmup)
    convs = [mod for mod in masked[0].modules() if isinstance(mod, torch.nn.Conv2d)]
    zeros = sum(int((mod.weight_mask == 0).sum()) for mod in convs)
    total = sum(mod.weight_mask.numel() for mod in convs)
    print(json.dumps({'model': name, 'dense_step_ms': d, 'masked_step_ms': m, 'dense_ips': 128e3 / d,
                      'masked_ips': 128e3 / m, 'masked_fraction': zeros / total, 'masked_layers': len(convs)}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('prune_timing', nargs='?')
    ap.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS', os.cpu_count())))
    ap.add_argument('--models', default='vgg_small,resnet20')
    ap.add_argument('--rounds', type=int, default=1)
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--torch-worker')
    a = ap.parse_args()
    if a.torch_worker:
        torch_worker(a.torch_worker, a.threads, a.steps, a.warmup)
        return
    if not a.prune_timing:
        ap.error('the path to the prune_timing executable is required')
    env = side_by_side.start(a.threads)
    names = a.models.split(',')
    common = ['--steps', str(a.steps), '--warmup', str(a.warmup)]
    runs = side_by_side.alternate(names, a.rounds, {
        'shrink': lambda name: [a.prune_timing, '--models', name] + common,
        'torch': lambda name: [sys.executable, __file__, '--torch-worker', name, '--threads', str(a.threads)] + common,
    }, env)
    print(f'threads={a.threads}  batch 128, SGD(momentum 0.9), every Conv2d masked at 50% (L1 norm of filters); '
          f'median step of {a.steps} (after {a.warmup} warm-up), median of {a.rounds} alternating round(s)')
    print(f"{'model':<12}{'Shrink img/s dense | masked':>28}{'extra':>8}{'PyTorch img/s dense | masked':>30}"
          f"{'extra':>8}{'masked S/T':>12}{'masked frac S | T':>20}")
    for name in names:
        s = {k: statistics.median(r[k] for r in runs[name]['shrink']) for k in METRICS}
        t = {k: statistics.median(r[k] for r in runs[name]['torch']) for k in METRICS}
        fs, ft = runs[name]['shrink'][0]['masked_fraction'], runs[name]['torch'][0]['masked_fraction']
        # The extra cost is taken within each round (its dense and masked steps alternated), then
        # the median over rounds.
        extra_s = 100 * (side_by_side.median_ratio(runs[name]['shrink'], 'masked_step_ms', 'dense_step_ms') - 1)
        extra_t = 100 * (side_by_side.median_ratio(runs[name]['torch'], 'masked_step_ms', 'dense_step_ms') - 1)
        print(f"{name:<12}{s['dense_ips']:>16.0f} | {s['masked_ips']:<9.0f}{extra_s:>+7.1f}%"
              f"{t['dense_ips']:>18.0f} | {t['masked_ips']:<9.0f}{extra_t:>+7.1f}%"
              f"{s['masked_ips'] / t['masked_ips']:>12.2f}{fs:>12.3f} | {ft:<6.3f}")


if __name__ == '__main__':
    main()
