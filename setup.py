"""Build script: cythonizes every funcgrad/_kernels/*.pyx into an extension module."""

import glob
import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

sources = sorted(glob.glob(os.path.join("funcgrad", "_kernels", "*.pyx")))
extensions = [
    Extension(
        "funcgrad._kernels." + os.path.splitext(os.path.basename(src))[0],
        [src],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # OpenMP: prange in the conv/pool kernels. No trapping math: funcgrad never reads
        # floating-point exception flags, and it lets GCC vectorize branchy loops (tanh).
        extra_compile_args=["-O3", "-fopenmp", "-fno-trapping-math"],
        extra_link_args=["-fopenmp"],
    )
    for src in sources
]

setup(
    ext_modules=cythonize(
        extensions, compiler_directives={"language_level": 3, "boundscheck": False}
    ),
)
