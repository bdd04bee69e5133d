#!/usr/bin/python3
"""A Shrink model file runs in PyTorch without the model's source, for every model of the zoo and
for a test model holding every functional op Shrink replays and every layer type a model file
holds (interop_tool's "every_op", tests/speedup/every_op_model.h).

interop_tool builds a Shrink zoo model, moves its BatchNorm statistics, writes it as a model
file (io::save_model) plus an input batch and Shrink's eval-mode logits; then
scripts/model_file_to_torch.py rebuilds the model from the file alone (graph JSON -> torch
layers and functional ops, weights from the datasets) and must give the same logits:
max |diff| <= 1e-5 * max |Shrink logits|. A zoo model must also agree with the reference model of
tests/reference/models.py loaded with the same weights (the rebuilt graph computes the model,
not just something close to Shrink's numbers).

Exit status: 0 on success, 1 on a mismatch or an error, 77 (CTest's SKIP_RETURN_CODE) when torch
or h5py is not installed for this interpreter.

usage: /usr/bin/python3 model_file_interop.py <path/to/interop_tool> <work dir>
"""
import os
import sys

from interop_common import REPO, models, read, run, torch, check_not_degenerate

sys.path.insert(0, os.path.join(REPO, 'scripts'))
import model_file_to_torch  # noqa: E402

RELATIVE_TOLERANCE = 1e-5


def relative_diff(expected, actual):
    """max |expected - actual| / max |expected| (on logits that are not near-constant)."""
    check_not_degenerate(expected)
    return ((expected - actual).abs().max() / expected.abs().max()).item()


def check(tool, work, name, seed):
    model_file, io_file = os.path.join(work, f'{name}.model.h5'), os.path.join(work, f'{name}.io.h5')
    run(tool, 'save_model', name, str(seed), model_file, io_file)
    rebuilt = model_file_to_torch.load(model_file)
    x, expected = read(io_file, 'input'), read(io_file, 'logits')
    with torch.no_grad():
        diffs = [relative_diff(expected, rebuilt(x))]
        if name in models.ZOO:
            reference = models.ZOO[name]()
            reference.load_state_dict(rebuilt.state_dict())  # the same keys and shapes as the zoo model
            diffs.append(relative_diff(expected, reference.eval()(x)))
    return diffs


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    tool, work = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(1)
    failures = 0
    print(f'{"model":<16} {"rebuilt":>10} {"reference":>10}   (max |logits diff| / max |logits|, '
          f'limit {RELATIVE_TOLERANCE:g})')
    for i, name in enumerate([*models.ZOO, 'every_op']):
        try:
            diffs = check(tool, work, name, 200 + i)
            cells = [f'{d:.2e}' + ('' if d <= RELATIVE_TOLERANCE else ' FAIL') for d in diffs] + ['-']
            failures += sum(d > RELATIVE_TOLERANCE for d in diffs)
        except Exception as e:  # report every model, then fail
            cells = ['ERROR', '']
            failures += 1
            print(f'{name}: {type(e).__name__}: {e}')
        print(f'{name:<16} {cells[0]:>10} {cells[1]:>10}')
    if failures:
        print(f'FAIL: {failures} check(s) failed')
        return 1
    print('OK: every zoo model file runs in PyTorch with Shrink\'s logits')
    return 0


if __name__ == '__main__':
    sys.exit(main())
