#!/usr/bin/python3
"""Side-by-side conv2d timing: Shrink (bench/conv_timing) and PyTorch (Debian's python3-torch) in
one run, same shapes, same thread count (OMP_NUM_THREADS and OPENBLAS_NUM_THREADS on both sides).
It prints the BLAS torch loaded and refuses netlib's reference BLAS (bench/torch_baseline.py).

  /usr/bin/python3 bench/conv_vs_torch.py build/bench/conv_timing [--threads 2] [--reps 10] [--rounds 3]

For each shape (batch 128) both sides time forward + backward (input, weight and bias require
grad; backward with a fixed random output gradient; gradients reset to None between runs) and the
forward alone without grad: median over --reps runs after --warmup runs. The two sides alternate
shape by shape for --rounds rounds (so that a busy spell on a shared machine hits both), and the
table shows the median over rounds, with the ratio torch_time / shrink_time (>= 1.0 means Shrink
is faster).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch_baseline


def median(v):
    return statistics.median(v)


def torch_times(shape, reps, warmup):
    import torch
    torch.manual_seed(0)
    n, cin, cout, hw, k, pad, groups = (shape[f] for f in ('batch', 'cin', 'cout', 'hw', 'k', 'pad', 'groups'))
    x = torch.randn(n, cin, hw, hw, requires_grad=True)
    w = (torch.randn(cout, cin // groups, k, k) * 0.1).requires_grad_()
    b = torch.randn(cout, requires_grad=True)
    oh = hw + 2 * pad - k + 1
    gy = torch.randn(n, cout, oh, oh)
    conv = torch.nn.functional.conv2d
    train = []
    for r in range(warmup + reps):
        x.grad = w.grad = b.grad = None
        t0 = time.perf_counter()
        conv(x, w, b, padding=pad, groups=groups).backward(gy)
        if r >= warmup:
            train.append((time.perf_counter() - t0) * 1e3)
    fwd = []
    with torch.no_grad():
        for r in range(warmup + reps):
            t0 = time.perf_counter()
            conv(x, w, b, padding=pad, groups=groups)
            if r >= warmup:
                fwd.append((time.perf_counter() - t0) * 1e3)
    return median(train), median(fwd)


def shrink_times(exe, index, reps, warmup, env):
    out = subprocess.run([exe, '--reps', str(reps), '--warmup', str(warmup), '--only', str(index)], env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith('{')))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('conv_timing', help='path to the conv_timing executable')
    ap.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS', 2)))
    ap.add_argument('--reps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--rounds', type=int, default=3)
    a = ap.parse_args()
    torch_baseline.set_threads(a.threads)  # before torch is imported: OpenBLAS reads it when loaded
    print(torch_baseline.check(a.threads))
    print(f'load average before: {" ".join(f"{x:.2f}" for x in os.getloadavg())}')
    env = torch_baseline.thread_env(a.threads)
    listing = subprocess.run([a.conv_timing, '--reps', '1', '--warmup', '0'], env=env, check=True,
                             capture_output=True, text=True).stdout
    shapes = [json.loads(line) for line in listing.splitlines() if line.startswith('{')]
    results = {s['index']: {'shrink': [], 'shrink_fwd': [], 'torch': [], 'torch_fwd': []} for s in shapes}
    for _ in range(a.rounds):
        for s in shapes:
            r = results[s['index']]
            mine = shrink_times(a.conv_timing, s['index'], a.reps, a.warmup, env)
            r['shrink'].append(mine['ms'])
            r['shrink_fwd'].append(mine['fwd_ms'])
            t_train, t_fwd = torch_times(s, a.reps, a.warmup)
            r['torch'].append(t_train)
            r['torch_fwd'].append(t_fwd)
    print(f'conv2d forward+backward, batch {shapes[0]["batch"]}, {a.threads} threads, '
          f'median of {a.reps} runs per round, median of {a.rounds} alternating rounds')
    print(f'{"shape":<22} {"shrink ms":>10} {"torch ms":>10} {"ratio":>7}   '
          f'{"fwd shrink":>10} {"fwd torch":>10} {"ratio":>7}')
    worst = None
    for s in shapes:
        r = {k: median(v) for k, v in results[s['index']].items()}
        ratio, fratio = r['torch'] / r['shrink'], r['torch_fwd'] / r['shrink_fwd']
        worst = ratio if worst is None else min(worst, ratio)
        print(f'{s["shape"]:<22} {r["shrink"]:>10.2f} {r["torch"]:>10.2f} {ratio:>7.2f}   '
              f'{r["shrink_fwd"]:>10.2f} {r["torch_fwd"]:>10.2f} {fratio:>7.2f}')
    print(f'ratio = torch_time / shrink_time (>= 1.0: Shrink is faster); worst forward+backward ratio {worst:.2f}')
    print(f'load average after: {" ".join(f"{x:.2f}" for x in os.getloadavg())}')


if __name__ == '__main__':
    sys.exit(main())
