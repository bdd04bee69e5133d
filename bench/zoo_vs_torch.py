#!/usr/bin/python3
"""Side-by-side throughput of the zoo models: Shrink (bench/zoo_timing) and PyTorch (Debian's
python3-torch on OpenBLAS, tests/reference/models.py) in one run, same thread count (OMP_NUM_THREADS
and OPENBLAS_NUM_THREADS), same batch sizes.

  /usr/bin/python3 bench/zoo_vs_torch.py build/bench/zoo_timing [--threads 2] [--models mlp,naive]
                                         [--rounds 3] [--fma-peak build/bench/fma_peak]

Prints images/s for training (batch 128, SGD momentum 0.9, forward+backward+step) and inference
(batch 256, eval, no grad), batch-1 latency, the ratios (> 1 means Shrink is faster) and peak
memory. Each model runs in a fresh process on each side, so peak memory (max RSS) is per model;
the two sides alternate model by model for --rounds rounds and every figure is the median over
rounds, so that a busy spell on a shared machine hits both sides.

Training GFLOP/s counts 6 FLOPs per multiply-accumulate of the Conv2d and Linear layers per
image (forward 1 MAC, backward 2 MACs: input and weight gradients; 1 MAC = 2 FLOPs) and nothing
else (no bias, BatchNorm, activation, pooling or optimizer FLOPs), the same count for both sides.
It is shown as a percentage of the machine's fp32 FMA peak on the same thread count, measured by
bench/fma_peak (by default the fma_peak next to zoo_timing).

The script prints the BLAS torch loaded and refuses netlib's reference BLAS (torch_baseline.py).
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
ALL_MODELS = 'mlp,naive,lenet5,vgg_small,resnet20,mobilenet_small,inception_small'
METRICS = ('train_ips', 'infer_ips', 'latency_ms', 'peak_rss_kb')


def reference_models():
    sys.path.insert(0, REFERENCE)
    import models
    return models


def torch_worker(name, threads, train_batches, infer_batches, latency_runs):
    import resource
    import torch
    models = reference_models()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m = models.ZOO[name]()
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(128, 1, 28, 28)
    y = torch.randint(0, 10, (128,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(m(x), y).backward()
        opt.step()

    m.train()
    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(train_batches):
        step()
    train_ips = 128 * train_batches / (time.perf_counter() - t0)
    m.eval()
    xi = torch.randn(256, 1, 28, 28)
    with torch.no_grad():
        for _ in range(2):
            m(xi)
        t0 = time.perf_counter()
        for _ in range(infer_batches):
            m(xi)
        infer_ips = 256 * infer_batches / (time.perf_counter() - t0)
        x1 = torch.randn(1, 1, 28, 28)
        for _ in range(10):
            m(x1)
        lat = []
        for _ in range(latency_runs):
            t0 = time.perf_counter()
            m(x1)
            lat.append((time.perf_counter() - t0) * 1e3)
    lat.sort()
    print(json.dumps({'model': name, 'train_ips': train_ips, 'infer_ips': infer_ips,
                      'latency_ms': lat[len(lat) // 2],
                      'peak_rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def baseline_worker(threads):
    """Prints the torch baseline's description and the MACs per image of every model (JSON)."""
    import torch
    description = torch_baseline.check(threads)
    models = reference_models()
    macs = {name: models.count_macs(cls().eval(), torch.zeros(1, 1, 28, 28)) for name, cls in models.ZOO.items()}
    print(json.dumps({'baseline': description, 'macs': macs}))


def baseline_info(threads, env):
    """baseline_worker in a child process: a driver that imported torch would hand its ~250 MB
    peak RSS to every child it starts (ru_maxrss survives fork and exec)."""
    child = subprocess.run([sys.executable, __file__, '--baseline-worker', '--threads', str(threads)], env=env,
                           capture_output=True, text=True)
    if child.returncode != 0:
        raise SystemExit(child.stderr.strip() or child.stdout.strip())
    return json.loads(child.stdout)


def fma_peak(exe, threads, env):
    if not exe or not os.path.exists(exe):
        print(f'note: no fma_peak executable at {exe}; GFLOP/s are shown without a fraction of peak')
        return None
    peak = json.loads(subprocess.check_output([exe, '--threads', str(threads)], env=env))
    print(f"fp32 FMA peak ({peak['isa']}): {peak['gflops_1_thread']:.1f} GFLOP/s on 1 thread, "
          f"{peak['gflops']:.1f} GFLOP/s on {threads} threads ({exe})")
    return peak['gflops']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('zoo_timing', nargs='?')
    ap.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS', os.cpu_count())))
    ap.add_argument('--models', default=ALL_MODELS)
    ap.add_argument('--rounds', type=int, default=1)
    ap.add_argument('--train-batches', type=int, default=20)
    ap.add_argument('--infer-batches', type=int, default=10)
    ap.add_argument('--latency-runs', type=int, default=200)
    ap.add_argument('--fma-peak', help='fma_peak executable (default: next to zoo_timing)')
    ap.add_argument('--torch-worker')
    ap.add_argument('--baseline-worker', action='store_true')
    a = ap.parse_args()
    if a.baseline_worker:
        baseline_worker(a.threads)
        return
    if a.torch_worker:
        torch_worker(a.torch_worker, a.threads, a.train_batches, a.infer_batches, a.latency_runs)
        return
    if not a.zoo_timing:
        ap.error('the path to the zoo_timing executable is required')
    env = torch_baseline.thread_env(a.threads)  # OpenBLAS reads OPENBLAS_NUM_THREADS when it is loaded
    info = baseline_info(a.threads, env)
    print(info['baseline'])
    macs = info['macs']
    peak = fma_peak(a.fma_peak or os.path.join(os.path.dirname(a.zoo_timing), 'fma_peak'), a.threads, env)
    print(f'load average before: {" ".join(f"{x:.2f}" for x in os.getloadavg())}')
    names = a.models.split(',')
    common = ['--train-batches', str(a.train_batches), '--infer-batches', str(a.infer_batches),
              '--latency-runs', str(a.latency_runs)]
    runs = {name: {'shrink': [], 'torch': []} for name in names}
    for _ in range(a.rounds):
        for name in names:
            runs[name]['shrink'].append(json.loads(subprocess.check_output([a.zoo_timing, '--models', name] + common,
                                                                           env=env)))
            runs[name]['torch'].append(json.loads(subprocess.check_output(
                [sys.executable, __file__, '--torch-worker', name, '--threads', str(a.threads)] + common, env=env)))
    print(f'load average after: {" ".join(f"{x:.2f}" for x in os.getloadavg())}')
    print(f'threads={a.threads}  train: batch 128 SGD(momentum)  infer: batch 256  latency: batch 1 (median)  '
          f'median of {a.rounds} alternating round(s)')
    print(f"{'model':<16}{'train img/s S | T':>22}{'ratio':>7}{'infer img/s S | T':>22}{'ratio':>7}"
          f"{'lat ms S | T':>18}{'ratio':>7}{'RSS MB S | T':>16}{'train GFLOP/s S | T':>22}{'% of peak S | T':>18}")
    for name in names:
        s = {k: statistics.median(r[k] for r in runs[name]['shrink']) for k in METRICS}
        t = {k: statistics.median(r[k] for r in runs[name]['torch']) for k in METRICS}
        flops = 6 * macs[name]
        gs, gt = s['train_ips'] * flops / 1e9, t['train_ips'] * flops / 1e9
        pct = f"{100 * gs / peak:>10.1f} | {100 * gt / peak:<5.1f}" if peak else f"{'-':>10} | {'-':<5}"
        print(f"{name:<16}{s['train_ips']:>10.0f} | {t['train_ips']:<9.0f}{s['train_ips'] / t['train_ips']:>7.2f}"
              f"{s['infer_ips']:>10.0f} | {t['infer_ips']:<9.0f}{s['infer_ips'] / t['infer_ips']:>7.2f}"
              f"{s['latency_ms']:>8.3f} | {t['latency_ms']:<7.3f}{t['latency_ms'] / s['latency_ms']:>7.2f}"
              f"{s['peak_rss_kb'] / 1024:>7.0f} | {t['peak_rss_kb'] / 1024:<6.0f}"
              f"{gs:>12.1f} | {gt:<7.1f}{pct:>18}")


if __name__ == '__main__':
    main()
