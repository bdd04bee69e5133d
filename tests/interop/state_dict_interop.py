#!/usr/bin/python3
"""Weights move between Shrink and PyTorch, for every model of the zoo.

(a) Shrink -> PyTorch: interop_tool builds a Shrink model, saves its weights (nn::save_weights)
    plus an input batch and Shrink's eval-mode logits; PyTorch loads the file into the reference
    model of tests/reference/models.py with the documented one-liner
    `{k: torch.from_numpy(f[k][()]) for k in h5py.File(path)}` and must give the same logits.
(b) PyTorch -> Shrink: PyTorch writes a reference model's state_dict with plain h5py (no Shrink
    attributes, 0-d num_batches_tracked as a scalar dataset); interop_tool loads it
    (nn::load_weights) and must give PyTorch's logits for the same input.

Logits must agree within max |diff| <= 1e-4. Exit status: 0 on success, 1 on a mismatch or an
error, 77 (CTest's SKIP_RETURN_CODE) when torch or h5py is not installed for this interpreter.

usage: /usr/bin/python3 state_dict_interop.py <path/to/interop_tool> <work dir>
The reference models are looked up in $SHRINK_REFERENCE_DIR, else <repo>/tests/reference.
"""
import os
import sys

from interop_common import h5py, models, read, run, torch, check_not_degenerate

TOLERANCE = 1e-4


def compare(expected, actual):
    """max |expected - actual| (on logits that are not near-constant)."""
    check_not_degenerate(expected)
    return (expected - actual).abs().max().item()


def shrink_to_torch(tool, work, name, seed):
    weights, io_file = os.path.join(work, f'{name}.shrink.h5'), os.path.join(work, f'{name}.io.h5')
    run(tool, 'save', name, str(seed), weights, io_file)
    model = models.ZOO[name]()
    with h5py.File(weights, 'r') as f:
        state_dict = {k: torch.from_numpy(f[k][()]) for k in f}
    model.load_state_dict(state_dict)  # strict: same keys, shapes (0-d entries come as [1])
    model.eval()
    with torch.no_grad():
        logits = model(read(io_file, 'input'))
    return compare(read(io_file, 'logits'), logits)


def torch_to_shrink(tool, work, name, seed):
    torch.manual_seed(seed)
    model = models.ZOO[name]()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        model.train()
        for _ in range(3):
            model(torch.randn(8, 1, 28, 28) * 0.5 + 0.3)
    model.eval()
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        logits = model(x)
    weights = os.path.join(work, f'{name}.torch.h5')
    inputs, out = os.path.join(work, f'{name}.input.h5'), os.path.join(work, f'{name}.logits.h5')
    with h5py.File(weights, 'w') as f:
        for k, v in model.state_dict().items():
            f.create_dataset(k, data=v.numpy())
    with h5py.File(inputs, 'w') as f:
        f.create_dataset('input', data=x.numpy())
    run(tool, 'logits', name, weights, inputs, out)
    return compare(logits, read(out, 'logits'))


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    tool, work = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(1)
    failures = 0
    print(f'{"model":<16} {"shrink->torch":>14} {"torch->shrink":>14}   (max |logits diff|, limit {TOLERANCE:g})')
    for i, name in enumerate(models.ZOO):
        row = []
        for direction in (shrink_to_torch, torch_to_shrink):
            try:
                diff = direction(tool, work, name, 100 + i)
                ok = diff <= TOLERANCE
                row.append(f'{diff:.2e}' + ('' if ok else ' FAIL'))
            except Exception as e:  # report every model, then fail
                ok = False
                row.append('ERROR')
                print(f'{name}: {direction.__name__}: {e}')
            failures += not ok
        print(f'{name:<16} {row[0]:>14} {row[1]:>14}')
    if failures:
        print(f'FAIL: {failures} check(s) failed')
        return 1
    print('OK: weights move both ways for every zoo model')
    return 0


if __name__ == '__main__':
    sys.exit(main())
