#!/usr/bin/python3
"""Side-by-side throughput of the zoo models: Shrink (bench/zoo_timing) and PyTorch (Debian's
python3-torch, shared/reference/models.py) in one run, same thread count, same batch sizes.

  /usr/bin/python3 bench/zoo_vs_torch.py build/bench/zoo_timing [--threads 2] [--models mlp,naive]

Prints images/s for training (batch 128, SGD momentum 0.9, forward+backward+step) and inference
(batch 256, eval, no grad), batch-1 latency, and the ratios (> 1 means Shrink is faster). Each
model runs in a fresh process on each side so peak memory (max RSS) is per model.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def torch_worker(name, threads, train_batches, infer_batches, latency_runs):
    import resource
    import torch
    sys.path.insert(0, os.path.join(HERE, '..', '..', 'shared', 'reference'))
    import models
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('zoo_timing', nargs='?')
    ap.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS', os.cpu_count())))
    ap.add_argument('--models', default='mlp,naive,lenet5,vgg_small,resnet20,mobilenet_small,inception_small')
    ap.add_argument('--train-batches', type=int, default=20)
    ap.add_argument('--infer-batches', type=int, default=10)
    ap.add_argument('--latency-runs', type=int, default=200)
    ap.add_argument('--torch-worker')
    a = ap.parse_args()
    if a.torch_worker:
        torch_worker(a.torch_worker, a.threads, a.train_batches, a.infer_batches, a.latency_runs)
        return
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    rows = []
    for name in a.models.split(','):
        common = ['--train-batches', str(a.train_batches), '--infer-batches', str(a.infer_batches),
                  '--latency-runs', str(a.latency_runs)]
        s = json.loads(subprocess.check_output([a.zoo_timing, '--models', name] + common, env=env))
        t = json.loads(subprocess.check_output([sys.executable, __file__, '--torch-worker', name,
                                                '--threads', str(a.threads)] + common, env=env))
        rows.append((name, s, t))
    print(f'threads={a.threads}  train: batch 128 SGD(momentum)  infer: batch 256  latency: batch 1 (median)')
    print(f"{'model':<16}{'train img/s S | T':>22}{'ratio':>7}{'infer img/s S | T':>22}{'ratio':>7}"
          f"{'lat ms S | T':>18}{'ratio':>7}{'RSS MB S | T':>16}")
    for name, s, t in rows:
        print(f"{name:<16}{s['train_ips']:>10.0f} | {t['train_ips']:<9.0f}{s['train_ips'] / t['train_ips']:>7.2f}"
              f"{s['infer_ips']:>10.0f} | {t['infer_ips']:<9.0f}{s['infer_ips'] / t['infer_ips']:>7.2f}"
              f"{s['latency_ms']:>8.3f} | {t['latency_ms']:<7.3f}{t['latency_ms'] / s['latency_ms']:>7.2f}"
              f"{s['peak_rss_kb'] / 1024:>7.0f} | {t['peak_rss_kb'] / 1024:<6.0f}")


if __name__ == '__main__':
    main()
