"""What the side-by-side benchmarks (bench/*_vs_torch.py) share: the baseline check, the load
average, and the alternating rounds in fresh processes.

Fair-baseline rules (docs/performance.md): both sides get the same thread count through
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS (`torch_baseline.thread_env`); torch's BLAS is checked in a
child process (the driver itself never imports torch) and netlib's reference BLAS is refused; the
two sides run in fresh processes that alternate item by item for every round, so that a busy spell
on a shared machine hits both; every figure is a median over rounds; the load average before and
after is printed.
"""
import json
import os
import statistics
import subprocess
import sys
import time

import torch_baseline

HERE = os.path.dirname(os.path.abspath(__file__))


def loadavg():
    """The 1, 5 and 15 minute load averages as printed under the tables."""
    return ' '.join(f'{x:.2f}' for x in os.getloadavg())


def check_baseline(threads, env):
    """torch_baseline.check(threads) in a child process with `env`; returns its description, exits
    with its message when the baseline is refused."""
    code = (f'import json, sys; sys.path.insert(0, {HERE!r}); import torch_baseline; '
            f'print(json.dumps(torch_baseline.check({int(threads)})))')
    child = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True)
    if child.returncode != 0:
        raise SystemExit(child.stderr.strip().splitlines()[-1] if child.stderr.strip() else child.stdout.strip())
    return json.loads(child.stdout.strip().splitlines()[-1])


def start(threads):
    """The environment for both sides; prints the baseline and the load average before."""
    env = torch_baseline.thread_env(threads)  # OpenBLAS reads OPENBLAS_NUM_THREADS when it is loaded
    print(check_baseline(threads, env))
    print(f'load average before: {loadavg()}', flush=True)
    return env


def json_lines(argv, env):
    """Runs `argv` and returns the JSON object of each line of its output."""
    out = subprocess.check_output(argv, env=env, text=True)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def alternate(items, rounds, commands, env):
    """For each round and each item, runs every side's command (`commands`: {side: item -> argv}) in a
    fresh process, in turn; each command prints one JSON object. Returns {item: {side: [object per
    round]}} and prints the load average after."""
    runs = {item: {side: [] for side in commands} for item in items}
    for _ in range(rounds):
        for item in items:
            for side, argv in commands.items():
                runs[item][side].append(json_lines(argv(item), env)[-1])
    print(f'load average after: {loadavg()}', flush=True)
    return runs


def median(results, key):
    """The median of `key` over rounds."""
    return statistics.median(r[key] for r in results)


def median_ratio(results, num, den):
    """The median over rounds of r[num] / r[den] (a ratio taken within a round, whose two figures
    were measured in the same moments)."""
    return statistics.median(r[num] / r[den] for r in results)


def torch_time_in_turn(a, b, steps, warmup):
    """The PyTorch side of bench/paired_training.h's time_in_turn: `a` and `b` are (model, optimizer)
    pairs stepping in turn (zero_grad, forward, cross-entropy, backward, step) on one fixed batch of
    128 (torch.Generator seeded 1), after `warmup` untimed steps each; returns their median step
    milliseconds."""
    import torch
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(128, 1, 28, 28, generator=gen)
    y = torch.randint(0, 10, (128,), generator=gen)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(model, opt):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        return (time.perf_counter() - t0) * 1e3

    for _ in range(warmup):
        step(*a)
        step(*b)
    a_ms, b_ms = [], []
    for _ in range(steps):
        a_ms.append(step(*a))
        b_ms.append(step(*b))
    return statistics.median(a_ms), statistics.median(b_ms)
