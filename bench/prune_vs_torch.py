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
prints the BLAS torch loaded and refuses netlib's reference BLAS (torch_baseline.py).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch_baseline

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, '..', 'tests', 'reference')
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
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(128, 1, 28, 28, generator=gen)
    y = torch.randint(0, 10, (128,), generator=gen)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(m, opt):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss_fn(m(x), y).backward()
        opt.step()
        return (time.perf_counter() - t0) * 1e3

    for _ in range(warmup):
        step(*dense)
        step(*masked)
    dense_ms, masked_ms = [], []
    for _ in range(steps):
        dense_ms.append(step(*dense))
        masked_ms.append(step(*masked))
    convs = [mod for mod in masked[0].modules() if isinstance(mod, torch.nn.Conv2d)]
    zeros = sum(int((mod.weight_mask == 0).sum()) for mod in convs)
    total = sum(mod.weight_mask.numel() for mod in convs)
    d, m = statistics.median(dense_ms), statistics.median(masked_ms)
    print(json.dumps({'model': name, 'dense_step_ms': d, 'masked_step_ms': m, 'dense_ips': 128e3 / d,
                      'masked_ips': 128e3 / m, 'masked_fraction': zeros / total, 'masked_layers': len(convs)}))


def baseline_worker(threads):
    """Prints the torch baseline's description (in a child: the driver must not import torch)."""
    print(json.dumps({'baseline': torch_baseline.check(threads)}))


def loadavg():
    return ' '.join(f'{x:.2f}' for x in os.getloadavg())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('prune_timing', nargs='?')
    ap.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS', os.cpu_count())))
    ap.add_argument('--models', default='vgg_small,resnet20')
    ap.add_argument('--rounds', type=int, default=1)
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--torch-worker')
    ap.add_argument('--baseline-worker', action='store_true')
    a = ap.parse_args()
    if a.baseline_worker:
        baseline_worker(a.threads)
        return
    if a.torch_worker:
        torch_worker(a.torch_worker, a.threads, a.steps, a.warmup)
        return
    if not a.prune_timing:
        ap.error('the path to the prune_timing executable is required')
    env = torch_baseline.thread_env(a.threads)  # OpenBLAS reads OPENBLAS_NUM_THREADS when it is loaded
    child = subprocess.run([sys.executable, __file__, '--baseline-worker', '--threads', str(a.threads)], env=env,
                           capture_output=True, text=True)
    if child.returncode != 0:
        raise SystemExit(child.stderr.strip() or child.stdout.strip())
    print(json.loads(child.stdout)['baseline'])
    print(f'load average before: {loadavg()}')
    names = a.models.split(',')
    common = ['--steps', str(a.steps), '--warmup', str(a.warmup)]
    runs = {name: {'shrink': [], 'torch': []} for name in names}
    for _ in range(a.rounds):
        for name in names:
            runs[name]['shrink'].append(json.loads(subprocess.check_output(
                [a.prune_timing, '--models', name] + common, env=env)))
            runs[name]['torch'].append(json.loads(subprocess.check_output(
                [sys.executable, __file__, '--torch-worker', name, '--threads', str(a.threads)] + common, env=env)))
    print(f'load average after: {loadavg()}')
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
        extra_s = 100 * (statistics.median(r['masked_step_ms'] / r['dense_step_ms'] for r in runs[name]['shrink']) - 1)
        extra_t = 100 * (statistics.median(r['masked_step_ms'] / r['dense_step_ms'] for r in runs[name]['torch']) - 1)
        print(f"{name:<12}{s['dense_ips']:>16.0f} | {s['masked_ips']:<9.0f}{extra_s:>+7.1f}%"
              f"{t['dense_ips']:>18.0f} | {t['masked_ips']:<9.0f}{extra_t:>+7.1f}%"
              f"{s['masked_ips'] / t['masked_ips']:>12.2f}{fs:>12.3f} | {ft:<6.3f}")


if __name__ == '__main__':
    main()
