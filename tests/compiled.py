"""How the compiler's tests run a graph: compiled and on the NumPy reference interpreter, and
what they read of a compiled program (its ``instructions``, records of
funcgrad/compiler/instructions)."""

import numpy as np

import funcgrad as fg
from funcgrad.compiler.program import CompiledProgram
from funcgrad.reference import ReferenceProgram

TOL = {np.float64: 1e-12, np.float32: 1e-5}


def run_both(fun, *args):
    graph = fg.make_graph(fun)(*args)
    flat = fg.tree.leaves(args)
    expected = ReferenceProgram(graph)(graph.consts, flat)
    got = CompiledProgram(graph)(graph.consts, flat)
    return expected, got


def assert_same(expected, got, dtype, tol=None):
    """Elementwise to TOL relative, with an absolute floor of TOL times the array's largest
    magnitude: BLAS and NumPy sum products in different orders, so an element that cancels
    down from large terms can differ by rounding of those terms (normwise agreement)."""
    assert len(expected) == len(got)
    for e, g in zip(expected, got):
        assert e.shape == g.shape and e.dtype == g.dtype
        scale = float(np.max(np.abs(e), initial=1.0, where=np.isfinite(e)))
        tol = TOL[dtype] if tol is None else tol
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol * scale)


def kinds(program):
    """The kinds of a program's instructions, in order."""
    return [ins.kind for ins in program.instructions]


def flat_instructions(program):
    """A program's instructions, those of its loops over images in their place."""
    return [q for ins in program.instructions for q in ins.inner or (ins,)]


def may_use_threads(program):
    """Whether any instruction of the program may run on funcgrad's threads (the program
    then holds BLAS to one thread while it runs)."""
    return any(ins.may_use_threads for ins in program.instructions)
