#!/usr/bin/python3
"""Dense vs physically shrunk inference side by side: Shrink (bench/speedup_timing: L1NormPruner at
0.5 on every Conv2d, dependency-aware, then speedup::ModelSpeedup) and PyTorch (Debian's
python3-torch) running the very same two architectures and weights, rebuilt from the model files
speedup_timing writes (scripts/model_file_to_torch.py, then torch.fx.symbolic_trace so that the
graph runs as generated code, like a hand-written eager model), same thread count
(OMP_NUM_THREADS and OPENBLAS_NUM_THREADS), eval mode, no grad.

  /usr/bin/python3 bench/speedup_vs_torch.py build/bench/speedup_timing [--threads 2] [--rounds 3]
                   [--models vgg_small,resnet20,mobilenet_small] [--latency-runs 200] [--batches 20]
                   [--fuse]

With --fuse, both sides time models whose eval-mode conv -> BatchNorm pairs are folded into the
convs: Shrink with speedup::fuse_for_inference (speedup_timing --fuse 1), PyTorch with torch.fx's
conv-bn fuser (torch.fx.experimental.optimization.fuse), dense and shrunk alike.

Each side runs the dense and the shrunk model in one process, one forward each in turn, and
reports the median batch-1 latency and batch-128 throughput of each. The two sides run in fresh
processes that alternate model by model for --rounds rounds (bench/side_by_side.py); speedups are
taken within a round (dense / shrunk, measured in the same moments), then the median over rounds.

Printed per model: the MACs reduction (dense / shrunk MACs per image), each side's realised
speedup at batch 1 and batch 128 and its fraction of the MACs reduction, and Shrink / PyTorch on
the shrunk model (> 1 means Shrink is faster). The targets of issue 9 are checked: realised
speedup (batch 128) >= 0.85 x the MACs reduction for vgg_small and >= 0.7 x for the others, no
shrunk model slower than its dense model, Shrink >= 1.2 x PyTorch on each shrunk model.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import side_by_side

SCRIPTS = os.path.join(side_by_side.HERE, '..', 'scripts')
METRICS = ('dense_latency_ms', 'shrunk_latency_ms', 'dense_ips', 'shrunk_ips')
MACS_TARGET = {'vgg_small': 0.85}
MACS_TARGET_OTHERS = 0.7
VS_TORCH_TARGET = 1.2


def torch_worker(name, model_dir, threads, latency_runs, batches, fuse):
    import torch
    import torch.fx.experimental.optimization
    sys.path.insert(0, SCRIPTS)
    import model_file_to_torch
    torch.set_num_threads(threads)

    fused_pairs = {}

    def batch_norms(m):
        return sum(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules())

    def load(kind):
        m = model_file_to_torch.load(os.path.join(model_dir, f'{name}.{kind}.h5')).eval()
        if fuse:  # traces the model itself, folds every conv -> BatchNorm pair (eval mode)
            f = torch.fx.experimental.optimization.fuse(m).eval()
            fused_pairs[kind] = batch_norms(m) - batch_norms(f)
            return f
        try:
            m = torch.fx.symbolic_trace(m)
        except Exception as e:  # the interpreter still runs the graph, a little slower
            print(f'note: torch.fx could not trace {name}.{kind}: {e}', file=sys.stderr)
        return m.eval()

    dense, shrunk = load('dense'), load('shrunk')
    gen = torch.Generator().manual_seed(1)

    def in_turn(x, runs):
        def timed(m):
            t0 = time.perf_counter()
            m(x)
            return (time.perf_counter() - t0) * 1e3
        for _ in range(3):
            timed(dense)
            timed(shrunk)
        a, b = [], []
        for _ in range(runs):
            a.append(timed(dense))
            b.append(timed(shrunk))
        return statistics.median(a), statistics.median(b)

    with torch.no_grad():
        dl, sl = in_turn(torch.randn(1, 1, 28, 28, generator=gen), latency_runs)
        db, sb = in_turn(torch.randn(128, 1, 28, 28, generator=gen), batches)
    print(json.dumps({'model': name, 'dense_latency_ms': dl, 'shrunk_latency_ms': sl, 'dense_ips': 128e3 / db,
                      'shrunk_ips': 128e3 / sb, 'fused_pairs_dense': fused_pairs.get('dense', 0),
                      'fused_pairs_shrunk': fused_pairs.get('shrunk', 0)}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('speedup_timing', nargs='?')
    ap.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS', os.cpu_count())))
    ap.add_argument('--models', default='vgg_small,resnet20,mobilenet_small')
    ap.add_argument('--rounds', type=int, default=1)
    ap.add_argument('--latency-runs', type=int, default=200)
    ap.add_argument('--batches', type=int, default=20)
    ap.add_argument('--fuse', action='store_true', help='fold conv -> BatchNorm pairs on both sides')
    ap.add_argument('--torch-worker')
    ap.add_argument('--model-dir')
    a = ap.parse_args()
    if a.torch_worker:
        torch_worker(a.torch_worker, a.model_dir, a.threads, a.latency_runs, a.batches, a.fuse)
        return
    if not a.speedup_timing:
        ap.error('the path to the speedup_timing executable is required')
    env = side_by_side.start(a.threads)
    names = a.models.split(',')
    common = ['--latency-runs', str(a.latency_runs), '--batches', str(a.batches)]
    with tempfile.TemporaryDirectory(prefix='speedup_vs_torch.') as model_dir:
        # Shrink runs first in every round and writes the model files the torch side loads.
        runs = side_by_side.alternate(names, a.rounds, {
            'shrink': lambda name: [a.speedup_timing, '--models', name, '--save-dir', model_dir,
                                    '--fuse', '1' if a.fuse else '0'] + common,
            'torch': lambda name: [sys.executable, __file__, '--torch-worker', name, '--model-dir', model_dir,
                                   '--threads', str(a.threads)] + (['--fuse'] if a.fuse else []) + common,
        }, env)
    fused = 'conv -> BatchNorm folded on both sides; ' if a.fuse else ''
    print(f'threads={a.threads}  L1Norm 0.5 dependency-aware on every Conv2d, then ModelSpeedup; {fused}eval, no grad; '
          f'latency: batch 1, median of {a.latency_runs}; throughput: batch 128, median of {a.batches}; '
          f'median of {a.rounds} alternating round(s)')
    print(f"{'model':<16}{'MACs/img dense -> shrunk':>26}{'reduction':>10}"
          f"{'lat ms S: dense | shrunk':>26}{'speedup':>8}{'/MACs':>6}"
          f"{'img/s S: dense | shrunk':>25}{'speedup':>8}{'/MACs':>6}"
          f"{'T lat speedup':>14}{'T img/s speedup':>16}{'shrunk S/T lat':>15}{'img/s':>7}")
    misses = []
    for name in names:
        s, t = runs[name]['shrink'], runs[name]['torch']
        first = s[0]
        reduction = first['macs_dense'] / first['macs_shrunk']
        sm = {k: statistics.median(r[k] for r in s) for k in METRICS}
        tm = {k: statistics.median(r[k] for r in t) for k in METRICS}
        s_lat = side_by_side.median_ratio(s, 'dense_latency_ms', 'shrunk_latency_ms')
        s_ips = side_by_side.median_ratio(s, 'shrunk_ips', 'dense_ips')
        t_lat = side_by_side.median_ratio(t, 'dense_latency_ms', 'shrunk_latency_ms')
        t_ips = side_by_side.median_ratio(t, 'shrunk_ips', 'dense_ips')
        vs_lat = tm['shrunk_latency_ms'] / sm['shrunk_latency_ms']
        vs_ips = sm['shrunk_ips'] / tm['shrunk_ips']
        print(f"{name:<16}{first['macs_dense']:>13,} -> {first['macs_shrunk']:<9,}{reduction:>9.2f}x"
              f"{sm['dense_latency_ms']:>15.3f} | {sm['shrunk_latency_ms']:<7.3f}{s_lat:>7.2f}x{s_lat / reduction:>6.2f}"
              f"{sm['dense_ips']:>14.0f} | {sm['shrunk_ips']:<7.0f}{s_ips:>7.2f}x{s_ips / reduction:>6.2f}"
              f"{t_lat:>13.2f}x{t_ips:>15.2f}x{vs_lat:>15.2f}{vs_ips:>7.2f}")
        if a.fuse:
            print(f"{'':<16}conv -> BatchNorm pairs folded (dense / shrunk): Shrink {first['fused_pairs_dense']} / "
                  f"{first['fused_pairs_shrunk']}, PyTorch {t[0]['fused_pairs_dense']} / {t[0]['fused_pairs_shrunk']}")
        target = MACS_TARGET.get(name, MACS_TARGET_OTHERS)
        for label, speedup in (('batch 1', s_lat), ('batch 128', s_ips)):
            if speedup < target * reduction:
                misses.append(f'{name} {label}: speedup {speedup:.2f}x < {target} x MACs reduction {reduction:.2f}x')
            if speedup < 1:
                misses.append(f'{name} {label}: the shrunk model is slower than the dense one')
        for label, ratio in (('batch 1', vs_lat), ('batch 128', vs_ips)):
            if ratio < VS_TORCH_TARGET:
                misses.append(f'{name} {label}: Shrink / PyTorch on the shrunk model {ratio:.2f} < {VS_TORCH_TARGET}')
    print('targets: ' + ('all met' if not misses else 'missed: ' + '; '.join(misses)))


if __name__ == '__main__':
    main()
