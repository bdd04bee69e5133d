"""The PyTorch side of the side-by-side benchmarks (bench/*_vs_torch.py): thread settings, and the
BLAS library torch really calls, so that a table is never measured against a slow baseline by
accident.

Debian's python3-torch sends torch.mm / nn.Linear to the system libblas.so.3. If that is netlib's
reference BLAS (libblas3, /usr/lib/<arch>/blas/), every Linear runs several times slower than on
an optimised BLAS, which inflates Shrink's ratios; `check()` refuses that baseline. OpenBLAS
(Debian libopenblas0-pthread, installed by `scripts/setup --torch`) becomes the libblas.so.3
alternative when installed.
"""
import ctypes
import os

# Where Debian's alternatives system keeps netlib's reference BLAS (libblas3).
REFERENCE_BLAS_DIR = '/blas/'


def thread_env(threads, base=None):
    """Environment for either side running with `threads` threads. OpenBLAS reads
    OPENBLAS_NUM_THREADS when it is loaded, so it must be set before torch is imported."""
    env = dict(os.environ if base is None else base)
    for var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
        env[var] = str(threads)
    return env


def set_threads(threads):
    """Sets this process's thread variables; call before `import torch`."""
    os.environ.update(thread_env(threads, {}))


def _mapped_libraries():
    paths = set()
    with open('/proc/self/maps') as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and '.so' in fields[-1]:
                paths.add(fields[-1])
    return paths


def _openblas_details(path):
    lib = ctypes.CDLL(path)
    lib.openblas_get_config.restype = ctypes.c_char_p
    return lib.openblas_get_config().decode().strip(), lib.openblas_get_num_threads()


def check(threads):
    """Runs a Linear so torch loads its BLAS, then reports it; raises SystemExit when torch would
    run on netlib's reference BLAS or on a thread count other than `threads`."""
    import torch
    torch.set_num_threads(threads)
    torch.nn.functional.linear(torch.randn(128, 784), torch.randn(300, 784))
    libs = _mapped_libraries()
    blas = sorted(p for p in libs if 'blas' in os.path.basename(p).lower() or 'mkl' in os.path.basename(p).lower())
    reference = [p for p in blas if REFERENCE_BLAS_DIR in p and 'openblas' not in p]
    if reference:
        raise SystemExit(
            f'refusing a reference-BLAS baseline: torch loaded netlib\'s reference BLAS ({reference[0]}), '
            'on which its Linear layers run several times slower than on an optimised BLAS. Install OpenBLAS '
            '(scripts/setup --torch installs libopenblas0-pthread, which becomes the libblas.so.3 alternative; '
            'check with update-alternatives --display libblas.so.3-x86_64-linux-gnu).')
    openblas = [p for p in blas if 'openblas' in os.path.basename(p)]
    if openblas:
        config, blas_threads = _openblas_details(openblas[0])
        name = f'OpenBLAS ({config}; {openblas[0]})'
    elif any('mkl' in p for p in blas):
        name, blas_threads = 'MKL (' + ', '.join(blas) + ')', threads
    else:
        name, blas_threads = 'unknown BLAS (' + (', '.join(blas) or 'none mapped') + ')', threads
    if torch.get_num_threads() != threads or blas_threads != threads:
        raise SystemExit(f'torch threads: expected {threads}, got torch.get_num_threads()={torch.get_num_threads()} '
                         f'and BLAS threads={blas_threads} (set OPENBLAS_NUM_THREADS before importing torch)')
    return (f'PyTorch {torch.__version__}: BLAS {name}, BLAS threads {blas_threads}, '
            f'torch.get_num_threads() {torch.get_num_threads()}')
