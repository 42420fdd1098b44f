"""Folds: what the lowering takes into a kernel instead of running as an equation of its own.

- a transpose of the last two axes into the GEMM reading it (a flag of the BLAS call);
- the flip of the kernel in a convolution's input-gradient form into the col2im kernel,
  which reads the unflipped weights;
- a max pool paired with the scatter of its gradient (same input and geometry): the pool
  saves its argmax slots and the scatter reads them, as PyTorch does.

Unlike the passes of passes.py, these do not return an equivalent graph: a folded matmul
or convolution names the untransposed or unflipped operand, and only the flags returned
beside it (which the lowering reads) say what to compute. So they run on the way into
lower.py, never before another pass or the reference interpreter.
"""

import math
from typing import NamedTuple

import numpy as np

from .. import primitives as P
from ..core import Eqn, Var
from . import conv_forms
from .isa import MAX_POOL_SLOTS

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class Folded(NamedTuple):
    """A graph's equations ready for lowering."""

    eqns: list  # the live equations, folds applied
    uses: dict  # Var -> how many equations (and graph outputs) read it
    transposed: dict  # GEMM eqn -> (transpose a, transpose b)
    flipped: dict  # conv eqn -> the axes of the kernel's flip
    pooled: set  # pool_key()s of max pools whose scatter reads their saved slots


def fold(graph):
    """Apply the folds to ``graph``'s equations (an optimized graph)."""
    uses = {}
    for e in graph.eqns:
        for a in e.inputs:
            if isinstance(a, Var):
                uses[a] = uses.get(a, 0) + 1
    for a in graph.outvars:
        if isinstance(a, Var):
            uses[a] = uses.get(a, 0) + 1
    eqns, transposed = _fold_transposes(graph.eqns, uses)
    eqns, flipped = _fold_flips(eqns, uses)
    eqns = _live_eqns(eqns, uses)
    return Folded(eqns, uses, transposed, flipped, _pooled_with_scatter(eqns))


def _fold_transposes(eqns, uses):
    """matmul(transpose(x)) -> a matmul reading x, with a flag for the BLAS call.

    The rewritten equation names x as its input, so the scheduler sees the real
    dependency; returns the new equation list and {matmul eqn: (flag_a, flag_b)} (every
    float matmul has an entry: those are the ones the GEMM kernel takes).
    """
    defs = {e.outputs[0]: e for e in eqns}
    out, transposed = [], {}
    for e in eqns:
        if e.prim is not P.matmul or e.outputs[0].dtype not in _FLOATS:
            out.append(e)
            continue
        inputs, flags = [], []
        for a in e.inputs:
            src = defs.get(a) if isinstance(a, Var) else None
            n = len(a.shape)
            swap = src is not None and src.prim is P.transpose
            if swap and src.params["perm"] == tuple(range(n - 2)) + (n - 1, n - 2):
                uses[a] -= 1
                uses[src.inputs[0]] = uses.get(src.inputs[0], 0) + 1
                a = src.inputs[0]
                flags.append(True)
            else:
                flags.append(False)
            inputs.append(a)
        new = Eqn(e.prim, inputs, e.outputs, e.params)
        transposed[new] = tuple(flags)
        out.append(new)
    return out, transposed


def _fold_flips(eqns, uses):
    """conv(g, rev(w)) in the input-gradient form -> a conv reading w, marked flipped:
    the col2im kernel reads the unflipped weights. Returns the new equation list and
    {conv eqn: the rev's axes}."""
    defs = {e.outputs[0]: e for e in eqns}
    out, flipped = [], {}
    for e in eqns:
        conv = e.prim is P.conv_general_dilated and isinstance(e.inputs[1], Var)
        src = defs.get(e.inputs[1]) if conv else None
        if src is None or src.prim is not P.rev or not isinstance(src.inputs[0], Var):
            out.append(e)
            continue
        lhs, w, axes = e.inputs[0], src.inputs[0], src.params["axes"]
        # Fold only what the col2im kernel will take (every check of the conv lowering): a
        # folded equation must never reach the NumPy reference, which would not flip.
        compiled = isinstance(lhs, Var) and e.outputs[0].dtype in _FLOATS
        if (
            not compiled
            or conv_forms.match(e.params, lhs.shape, w.shape, e.outputs[0].shape, axes) is None
        ):
            out.append(e)  # not a form the kernels take: the flip stays
            continue
        uses[e.inputs[1]] -= 1
        uses[src.inputs[0]] = uses.get(src.inputs[0], 0) + 1
        new = Eqn(e.prim, [lhs, w], e.outputs, e.params)
        flipped[new] = axes
        out.append(new)
    return out, flipped


def pool_key(e):
    """What a max-pool and the scatter of its gradient have in common: the pooled input
    and the geometry."""
    p = e.params
    return e.inputs[0], tuple(p["window"]), tuple(p["stride"]), tuple(map(tuple, p["padding"]))


def _pooled_with_scatter(eqns):
    """Keys of max_pool2d equations whose input a max_pool2d_scatter routes a gradient
    through with the same geometry (a byte of slots per output holds the window's argmax)."""
    found = {P.max_pool2d: set(), P.max_pool2d_scatter: set()}
    for e in eqns:
        if e.prim in found and e.outputs[0].dtype in _FLOATS and isinstance(e.inputs[0], Var):
            if math.prod(e.params["window"]) <= MAX_POOL_SLOTS:
                found[e.prim].add(pool_key(e))
    return found[P.max_pool2d] & found[P.max_pool2d_scatter]


def _live_eqns(eqns, uses):
    """The equations whose results are still used once folds have removed some uses."""
    live = []
    for e in reversed(eqns):
        if any(uses.get(v, 0) > 0 for v in e.outputs):
            live.append(e)
        else:
            for a in e.inputs:
                if isinstance(a, Var):
                    uses[a] -= 1
    live.reverse()
    return live
