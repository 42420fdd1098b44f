"""Build script: cythonizes every funcgrad/_kernels/*.pyx into an extension module.

The kernels are compiled for AVX2 + FMA when the building machine has them (their fused
elementwise loops and im2col copies run ~1.4x faster than with plain SSE2), and for
AVX-512 on top when it has that too;
``FUNCGRAD_PORTABLE=1 pip install .`` builds for any x86-64 CPU instead. ``_cpu`` is always
built portably: at import it refuses kernels built for features the running CPU lacks,
so a build copied to an older machine falls back to NumPy instead of crashing.
"""

import glob
import importlib.util
import os
import platform

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup


def simd_features():
    """The SIMD features to compile the kernels for: those of this machine, if x86-64."""
    if os.environ.get("FUNCGRAD_PORTABLE") or platform.machine() not in ("x86_64", "AMD64"):
        return ()
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split() for line in f if line.startswith("flags")), [])
    except OSError:  # not Linux: stay portable
        return ()
    if not {"avx2", "fma"} <= set(flags):
        return ()
    return ("avx2", "fma") + (AVX512 if set(AVX512) <= set(flags) else ())


# The AVX-512 subsets GCC needs for 512-bit loops over floats, doubles, bytes and ints.
AVX512 = ("avx512f", "avx512vl", "avx512bw", "avx512dq")
features = simd_features()
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
macros += [("FG_BUILT_FOR_" + f.upper(), "1") for f in features if f not in AVX512]
if AVX512[0] in features:
    macros.append(("FG_BUILT_FOR_AVX512", "1"))
    # 512-bit vectors: GCC's generic tuning would stop at 256 (the fused kernels, the max
    # pool and the exp ran 10-25% faster with 512 here)
    width = ["-mprefer-vector-width=512"]
else:
    width = []
# The kernels' names for the instruction set's fields and codes (isa.h, isa.pxd), written
# from funcgrad/compiler/isa.py, which is loaded alone: funcgrad itself needs the kernels.
_spec = importlib.util.spec_from_file_location(
    "funcgrad_isa", os.path.join("funcgrad", "compiler", "isa.py")
)
isa = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(isa)
isa.write_generated()
extensions = []
headers = sorted(glob.glob(os.path.join("funcgrad", "_kernels", "*.h")))
for src in sorted(glob.glob(os.path.join("funcgrad", "_kernels", "*.pyx"))):
    name = os.path.splitext(os.path.basename(src))[0]
    portable = name == "_cpu"
    extensions.append(
        Extension(
            "funcgrad._kernels." + name,
            [src],
            depends=headers,  # a changed header rebuilds the modules
            include_dirs=[np.get_include()],
            define_macros=macros,
            # OpenMP: prange in the conv/pool kernels. No trapping math: funcgrad never reads
            # floating-point exception flags, and it lets GCC vectorize branchy loops (tanh).
            extra_compile_args=["-O3", "-fopenmp", "-fno-trapping-math", "-fno-math-errno"]
            + ([] if portable else ["-m" + f for f in features] + width),
            extra_link_args=["-fopenmp"],
        )
    )

setup(
    ext_modules=cythonize(
        extensions, compiler_directives={"language_level": 3, "boundscheck": False}
    ),
)
