"""Benchmarks run single-threaded: pin BLAS/OpenMP before NumPy is imported."""
import os
import sys
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NEUROCORE_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

_here = Path(__file__).resolve().parent
sys.path.insert(0, str(_here))  # workloads, numpy_steps
try:  # an installed neurocore (or one on PYTHONPATH) wins; else this checkout's
    import neurocore  # noqa: F401
except ImportError:
    sys.path.insert(1, str(_here.parent))
