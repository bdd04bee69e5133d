"""What the interop scripts share: torch and h5py (or exit 77, CTest's SKIP_RETURN_CODE, when
this interpreter lacks them), the reference models of tests/reference/models.py (looked up in
$SHRINK_REFERENCE_DIR, else <repo>/tests/reference), running interop_tool, reading datasets."""
import os
import subprocess
import sys

SKIP = 77

try:
    import h5py
    import torch
except ImportError as e:
    print(f'SKIP: {e.name} is not installed for {sys.executable} (Debian: python3-torch python3-h5py)')
    sys.exit(SKIP)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFERENCE = os.environ.get('SHRINK_REFERENCE_DIR', os.path.join(REPO, 'tests', 'reference'))
sys.path.insert(0, REFERENCE)
try:
    import models  # noqa: E402,F401
except ImportError:
    print(f'FAIL: cannot import models.py from {os.path.abspath(REFERENCE)} (set SHRINK_REFERENCE_DIR)')
    sys.exit(1)


def run(tool, *args):
    """Runs interop_tool with `args`; RuntimeError with its stderr when it fails."""
    result = subprocess.run([tool, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f'{os.path.basename(tool)} {" ".join(args)} failed: {result.stderr.strip()}')


def read(path, key):
    """The dataset `key` of the HDF5 file `path` as a tensor."""
    with h5py.File(path, 'r') as f:
        return torch.from_numpy(f[key][()])


def check_not_degenerate(logits):
    """Refuses near-constant logits, on which agreement would prove nothing."""
    if logits.std().item() < 1e-3:
        raise RuntimeError(f'degenerate logits (std {logits.std().item():.1e})')
