"""Build the Cython kernels. All compiler directives live here, in one place.

Set NEUROCORE_CYTHON_DEBUG=1 to build with bounds, wraparound and
initialisation checks on (CI runs the reference tests once that way).
"""
import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

debug = os.environ.get("NEUROCORE_CYTHON_DEBUG", "0") != "0"
directives = {
    "language_level": 3,
    "boundscheck": debug,
    "wraparound": debug,
    "initializedcheck": debug,
    "cdivision": True,
}
if sys.platform == "win32":
    compile_args, link_args = ["/O2", "/openmp"], []
else:
    compile_args = ["-O3", "-fopenmp"] + (["-O0", "-g"] if debug else [])
    if os.environ.get("NEUROCORE_PORTABLE", "0") == "0":
        # AVX2 row adds and 512-bit vectors for the neuron update; NEUROCORE_PORTABLE=1 for a portable build
        compile_args += ["-march=native", "-mprefer-vector-width=512"]
    link_args = ["-fopenmp"]

extensions = [
    Extension(
        "neurocore.kernels._sim",
        ["neurocore/kernels/_sim.pyx"],
        include_dirs=[np.get_include(), "neurocore/kernels"],
        depends=["neurocore/kernels/neurons.h", "neurocore/kernels/neuron_body.h", "neurocore/kernels/fixedpoint.pxd"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # no fused multiply-add: the chip-time sums must round exactly as neurocore.steptime.evaluate's
        extra_compile_args=compile_args + ([] if sys.platform == "win32" else ["-ffp-contract=off"]),
        extra_link_args=link_args,
    ),
    Extension(
        "neurocore.kernels._learn",
        ["neurocore/kernels/_learn.pyx"],
        include_dirs=[np.get_include(), "neurocore/kernels"],
        depends=["neurocore/kernels/neurons.h", "neurocore/kernels/fixedpoint.pxd"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # no fused multiply-add: Lava-mode trace decay must round exactly as numpy's float64 does
        extra_compile_args=compile_args + ([] if sys.platform == "win32" else ["-ffp-contract=off"]),
        extra_link_args=link_args,
    ),
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
